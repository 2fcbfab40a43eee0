// `dltrain train`: from a resolved config to a run directory with checkpoints and reports.
#pragma once

#include <filesystem>

#include "dltrain/config/config.hpp"

namespace dltrain::train {

struct RunResult {
  std::filesystem::path run_dir;
  double test_accuracy = 0.0;       // of the final model
  double best_test_accuracy = 0.0;  // of the model saved as best.pt
  int64_t epochs_run = 0;
};

// Trains the model described by `config` (flags already applied) and writes the run directory.
// Everything that can fail on bad input fails before step 0. SIGINT/SIGTERM stop the run after the
// current step with last.pt and a report marked "interrupted" (Interrupted is thrown).
RunResult run_training(const config::Config& config, bool show_progress);

}  // namespace dltrain::train
