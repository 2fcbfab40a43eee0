// Did-you-mean and loading a config file with its --set overrides.
#include "dltrain/config/config.hpp"

#include <algorithm>

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
  apply_overrides(doc, overrides);
  return parse(doc, path.string());
}

}  // namespace dltrain::config
