// Which values of a resolved config a user chose: those that differ from dltrain's defaults. The console's settings
// line and report.html's config table show them.
#pragma once

#include <string>
#include <vector>

#include "dltrain/config/config.hpp"

namespace dltrain::config {

// JSON pointers ("/train/epochs") of the values that differ from the defaults of the config's own optimizer and
// scheduler. The model's layers are left out: they have no defaults.
std::vector<std::string> changed_from_defaults(const Config& config);

}  // namespace dltrain::config
