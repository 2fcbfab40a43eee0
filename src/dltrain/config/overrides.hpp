// --set key.path=value overrides, applied to the JSON document before it is parsed.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dltrain/config/config.hpp"

namespace dltrain::config {

// Applies each "a.b.c=value" to `doc`. The value is parsed as JSON when it parses (numbers, true,
// [1,2], {"k":1}), else taken as a string. Array elements are addressed by index: model.layers.0.p=0.3.
// Throws UsageError for an expression without '=' or with an empty key part.
void apply_overrides(nlohmann::json& doc, const std::vector<std::string>& overrides);

// Applies `overrides` to `doc` and parses it (`source` names the document in errors). A problem that `doc` alone
// does not have is reported against the --set that caused it.
Config parse_with_overrides(nlohmann::json doc, const std::vector<std::string>& overrides, const std::string& source);

}  // namespace dltrain::config
