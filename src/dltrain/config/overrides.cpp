// --set overrides: the layer between the config file and the parsed structs (defaults < file < --set).
#include "dltrain/config/overrides.hpp"

#include <sstream>

#include "dltrain/core/error.hpp"

namespace dltrain::config {
namespace {

std::vector<std::string> split_key(const std::string& key, const std::string& expr) {
  std::vector<std::string> parts;
  std::stringstream ss(key);
  std::string part;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  if (key.empty() || key.back() == '.') parts.emplace_back();
  for (const auto& p : parts) {
    if (p.empty()) {
      throw UsageError("invalid --set '" + expr + "': empty key part", "write --set section.key=value, e.g. --set train.epochs=3");
    }
  }
  return parts;
}

// A position in an array of `size` elements. At most 9 digits, so std::stoul cannot overflow.
bool parse_index(const std::string& s, size_t size, size_t& index) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  index = std::stoul(s);
  return index < size;
}

// JSON text must be UTF-8; a --set that is not would make every later dump() of the config throw.
bool is_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

}  // namespace

void apply_overrides(nlohmann::json& doc, const std::vector<std::string>& overrides) {
  for (const auto& expr : overrides) {
    if (!is_utf8(expr)) {
      throw UsageError("invalid --set: not valid UTF-8", "write keys and values as UTF-8 text");
    }
    const auto eq = expr.find('=');
    if (eq == std::string::npos) {
      throw UsageError("invalid --set '" + expr + "': expected key.path=value", "e.g. --set train.optimizer.lr=0.5");
    }
    const auto parts = split_key(expr.substr(0, eq), expr);
    const std::string text = expr.substr(eq + 1);
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;

    nlohmann::json* node = &doc;
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& part = parts[i];
      const bool last = i + 1 == parts.size();
      if (node->is_array()) {
        size_t index = 0;
        if (!parse_index(part, node->size(), index)) {
          throw UsageError("invalid --set '" + expr + "': '" + part + "' is not an index of an array of " +
                               std::to_string(node->size()),
                           "address list elements by position, e.g. model.layers.0.out_channels=16");
        }
        node = &(*node)[index];
      } else {
        if (node->is_null()) *node = nlohmann::json::object();
        if (!node->is_object()) {
          throw UsageError("invalid --set '" + expr + "': '" + part + "' goes into a value that is not an object",
                           "check the key path against README.md, \"Config reference\"");
        }
        node = &(*node)[part];
      }
      if (last) *node = value;
    }
  }
}

}  // namespace dltrain::config
