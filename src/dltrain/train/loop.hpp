// `dltrain train`: from a resolved config to a run directory with checkpoints and reports.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "dltrain/config/config.hpp"
#include "dltrain/dist/world.hpp"

namespace dltrain::train {

struct RunResult {
  std::filesystem::path run_dir;
  std::string status;          // completed or early_stopped
  std::string result_model;    // "best.pt" (chosen on the validation split) or "final" (no validation split)
  int64_t result_epoch = 0;    // the epoch whose model that is
  double test_accuracy = 0.0;  // of that model: the run's headline number
  double final_test_accuracy = 0.0;  // of the final model
  int64_t epochs_run = 0;
};

struct RunOptions {
  bool show_progress = true;
  // A checkpoint of the run to continue (`--resume`): training goes on in its run directory from the
  // exact position it was saved at. Empty: a new run directory.
  std::filesystem::path resume_from{};
  // Called after every optimizer step with the number of steps done (tests use it to stop a run).
  std::function<void(int64_t step)> after_step{};
  // Called once the run directory exists (or is reopened by --resume), before training starts.
  std::function<void(const std::filesystem::path& run_dir)> on_run_dir{};
  // Seconds between samples of the background monitor (CPU, RSS, and the GPU through NVML); 0: off.
  double monitor_interval_s = 0.5;
  // The command line that started the run, for report.json.
  std::string command_line{};
  // This process's place in a data-parallel run (dist::world_from_environment); a single process by default.
  dist::World world{};
};

// Trains the model described by `config` (flags already applied) and writes the run directory.
// Everything that can fail on bad input fails before step 0. SIGINT, SIGTERM and SIGHUP stop the run after the
// current step with last.pt and a report marked "interrupted" (Interrupted is thrown). Any error after the run
// directory exists leaves report.json and train.log saying how the run ended.
// In a data-parallel run (options.world of size N) every worker calls this; they train one model on slices of the
// same global batches, and rank 0 alone writes the run directory (docs/ARCHITECTURE.md, "Data-parallel training").
RunResult run_training(const config::Config& config, const RunOptions& options);

// The checkpoint `--resume PATH` means: PATH itself, or PATH/checkpoints/last.pt for a run directory.
std::filesystem::path resume_checkpoint_path(const std::filesystem::path& path);

}  // namespace dltrain::train
