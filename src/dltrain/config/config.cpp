// Did-you-mean and loading a config file with its --set overrides.
#include "dltrain/config/config.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "dltrain/config/overrides.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"

namespace dltrain::config {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The lines of a ConfigError from parse(): each "<source>: /json/path: message".
std::vector<std::string> problem_lines(const std::string& message) {
  std::vector<std::string> lines;
  std::istringstream in(message);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// "train.scheduler.name=cosine" -> "/train/scheduler/name".
std::string override_path(const std::string& expr) {
  std::string path = "/" + expr.substr(0, expr.find('='));
  std::replace(path.begin(), path.end(), '.', '/');
  return path;
}

// Whether JSON path `path` is `prefix` or lies below it.
bool within(const std::string& path, const std::string& prefix) {
  return path.compare(0, prefix.size(), prefix) == 0 && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

bool has_path(const nlohmann::json& doc, const std::string& path) {
  try {
    return doc.contains(nlohmann::json::json_pointer(path));
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// Rewrites the problems of `error` (parse() of the config with its --set overrides) that the config alone
// does not have so that they name the --set that caused them, not the file. A --set of one key of an
// object whose other keys in the file no longer fit (train.scheduler.name=cosine next to the file's gamma)
// gets a hint to replace the whole object.
ConfigError blame_overrides(const ConfigError& error, const nlohmann::json& file_doc,
                            const std::vector<std::string>& overrides, const std::string& source) {
  std::set<std::string> from_file;
  try {
    (void)parse(file_doc, source);
  } catch (const ConfigError& e) {
    for (const auto& line : problem_lines(e.what())) from_file.insert(line);
  }
  const std::string prefix = source + ": ";
  std::string message, hint;
  for (const auto& line : problem_lines(error.what())) {
    std::string rewritten = line;
    if (!from_file.count(line) && line.compare(0, prefix.size(), prefix) == 0) {
      const std::string problem = line.substr(prefix.size());
      const std::string path = problem.substr(0, problem.find(": "));
      const std::string* cause = nullptr;
      bool sibling = false;
      for (const auto& expr : overrides) {  // the last --set wins, as when they are applied
        if (within(path, override_path(expr))) cause = &expr, sibling = false;
      }
      for (size_t i = overrides.size(); cause == nullptr && i-- > 0;) {
        const std::string object = parent_of(override_path(overrides[i]));
        if (!object.empty() && within(path, object) && has_path(file_doc, path)) {
          cause = &overrides[i], sibling = true;
        }
      }
      if (cause != nullptr) rewritten = "--set " + *cause + ": " + problem;
      if (sibling && hint.empty()) {
        const std::string key = cause->substr(0, cause->find('='));
        const std::string text = cause->substr(cause->find('=') + 1);
        nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (value.is_discarded()) value = text;
        const std::string object = key.substr(0, key.rfind('.'));
        const nlohmann::json replacement = {{key.substr(key.rfind('.') + 1), value}};
        hint = "--set changes one key and keeps the file's other keys of " + object + "; replace the whole object " +
               "instead, e.g. --set '" + object + "=" + replacement.dump() + "'";
      }
    }
    message += (message.empty() ? "" : "\n") + rewritten;
  }
  return ConfigError(message, hint.empty() ? error.hint() : hint);
}

}  // namespace

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) best = c, best_distance = d;
  }
  return best;
}

Config load(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  if (!std::filesystem::exists(path)) {
    throw ConfigError(path.string() + ": config file not found", "check the path; ready-made configs are in configs/");
  }
  std::string text;
  try {
    text = fs::read_file(path);
  } catch (const DataError& e) {
    throw ConfigError(e.what(), "check the path and its permissions");
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    const size_t offset = std::min(e.byte == 0 ? 0 : e.byte - 1, text.size());
    const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
    const size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
    const size_t column = offset - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
    std::string what = e.what();
    const auto colon = what.find("syntax error");
    throw ConfigError(path.string() + ":" + std::to_string(line) + ":" + std::to_string(column) +
                          ": malformed JSON (byte " + std::to_string(offset) + "): " +
                          (colon == std::string::npos ? what : what.substr(colon)),
                      "JSON allows no comments and no trailing commas; keys and strings need double quotes");
  } catch (const nlohmann::json::out_of_range& e) {
    // A number beyond double range (1e999) is reported without a position, so only the number is named.
    const std::string what = e.what();
    const auto tag_end = what.find("] ");
    throw ConfigError(
        path.string() + ": malformed JSON: " + (tag_end == std::string::npos ? what : what.substr(tag_end + 2)),
        "numbers must fit in a double (magnitude below about 1.8e308)");
  }
  return parse_with_overrides(std::move(doc), overrides, path.string());
}

Config parse_with_overrides(nlohmann::json doc, const std::vector<std::string>& overrides, const std::string& source) {
  const nlohmann::json file_doc = overrides.empty() ? nlohmann::json() : doc;
  apply_overrides(doc, overrides);
  try {
    return parse(doc, source);
  } catch (const ConfigError& e) {
    if (overrides.empty()) throw;
    throw blame_overrides(e, file_doc, overrides, source);
  }
}

}  // namespace dltrain::config
