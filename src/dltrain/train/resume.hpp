// The resume contract: what `dltrain train --resume` may change, and the checks that keep a resumed run the run it
// continues. A resumed run equals the run never stopped, bit for bit, so every key that decides what the run
// computes must stay as the checkpoint has it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dltrain/config/config.hpp"
#include "dltrain/train/checkpoint.hpp"

namespace dltrain::train {

// The keys --resume may change (JSON pointers into the config), with why each is safe to change.
struct ResumableKey {
  const char* pointer;
  const char* why;
};
const std::vector<ResumableKey>& resumable_keys();

// Throws UsageError naming every key of `now` that differs from the checkpoint's config `saved` and is not
// resumable. Logs the resumable ones that changed, and warns when more epochs re-plan a cosine or one-cycle
// schedule (its learning rate jumps at the next step, `step` + 1).
void check_resume_config(const nlohmann::json& saved, const config::Config& now, const std::filesystem::path& checkpoint,
                         int64_t steps_per_epoch, int64_t step);

// Throws CheckpointError when the checkpoint's position (epoch data order, next batch) does not fit the data.
void check_resume_position(const CheckpointMeta& meta, int64_t train_images, int64_t steps_per_epoch,
                           const std::filesystem::path& checkpoint);

// A checkpoint at the end of the run's last epoch (all planned epochs, or early stopping) whose reports were never
// written (kill -9 between last.pt and report.json, or a stop during the final evaluation): resuming it with the
// same epoch count only completes the reports. `report_status`: report.json's status ("" when unreadable).
bool reports_pending(const CheckpointMeta& meta, const config::Config& c, const std::string& report_status);

// report.json's status in `run_dir`, or "" when it is missing or unreadable.
std::string report_status(const std::filesystem::path& run_dir);

// How the segment that wrote the checkpoint being resumed ended: report.json's status when its last segment is
// this one and says it ended (interrupted, diverged, failed...), else "killed" (no report got to say so).
std::string how_segment_ended(const report::Segment& segment, const std::filesystem::path& run_dir);

}  // namespace dltrain::train
