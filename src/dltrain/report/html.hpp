// report.html: one self-contained page per run (inline CSS, SVG and PNG; no script, nothing fetched), and a page
// comparing several runs. Rendered from a run's files alone, so `dltrain report` re-renders any run.
#pragma once

#include <string>
#include <vector>

#include "dltrain/report/runs.hpp"

namespace dltrain::report {

// `changed_keys`: JSON pointers of the config values that differ from the defaults (marked in the config table).
std::string run_html(const RunFiles& run, const std::vector<std::string>& changed_keys);
std::string comparison_html(const std::vector<RunFiles>& runs);

}  // namespace dltrain::report
