// See resume.hpp.
#include "dltrain/train/resume.hpp"

#include <algorithm>
#include <cmath>

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/train/schedule.hpp"

namespace dltrain::train {
namespace {

bool is_resumable(const std::string& pointer) {
  for (const auto& key : resumable_keys()) {
    if (pointer == key.pointer) return true;
  }
  return false;
}

// The learning rate jumps at `step` when more epochs re-plan a schedule that depends on the run's length.
void warn_schedule_jump(const config::Config& before, const config::Config& now, int64_t steps_per_epoch, int64_t step) {
  const auto& s = now.train.scheduler;
  if (before.train.epochs == now.train.epochs || !config::schedulers().takes(s.name, "horizon_epochs")) return;
  const auto horizon = [&](const config::Config& c) { return s.horizon_epochs > 0 ? s.horizon_epochs : c.train.epochs; };
  const double lr_before = lr_at(s, {before.train.optimizer.lr, steps_per_epoch, horizon(before)}, step);
  const double lr_now = lr_at(s, {now.train.optimizer.lr, steps_per_epoch, horizon(now)}, step);
  if (std::abs(lr_now - lr_before) <= 1e-3 * std::abs(lr_before)) return;
  log::warn(format("resume: train.epochs %lld -> %lld re-plans the %s schedule over %lld epochs: the learning rate "
                   "jumps from %.3g to %.3g at step %lld. To keep the schedule and train the added epochs at its final "
                   "learning rate, resume with --set train.scheduler.horizon_epochs=%lld",
                   static_cast<long long>(before.train.epochs), static_cast<long long>(now.train.epochs),
                   config::schedulers().name(s.name),
                   static_cast<long long>(horizon(now)), lr_before, lr_now, static_cast<long long>(step + 1),
                   static_cast<long long>(horizon(before))));
}

}  // namespace

const std::vector<ResumableKey>& resumable_keys() {
  static const std::vector<ResumableKey> keys = {
      {"/train/epochs", "more (or fewer) epochs continue the same run"},
      {"/train/early_stopping/patience", "only decides when to stop"},
      {"/train/log_interval", "logging"},
      {"/train/checkpoint_every", "how often last.pt is written"},
      {"/train/device", "where it runs"},
      {"/train/threads", "CPU threads"},
      {"/train/cuda_graphs", "how steps are launched, not what they compute"},
      {"/train/scheduler/horizon_epochs", "keeps the schedule when train.epochs grows"},
      {"/train/distributed/backend", "how workers talk, not what they compute"},
      {"/train/distributed/timeout", "how long workers wait for each other"},
      {"/train/distributed/overlap", "when the gradients are sent, not what they are"},
      {"/run/output_dir", "the run continues in its own directory"},
      {"/data/root", "where the same data is found"},
      {"/eval/tta", "an extra measurement of the result, not training"},
  };
  return keys;
}

void check_resume_config(const nlohmann::json& saved, const config::Config& now, const std::filesystem::path& checkpoint,
                         int64_t steps_per_epoch, int64_t step) {
  const config::Config before = config::parse(saved, checkpoint.string() + " (embedded config)");
  const nlohmann::json old_flat = config::to_json(before).flatten(), new_flat = config::to_json(now).flatten();
  nlohmann::json either = old_flat;
  either.update(new_flat);  // every key of either config
  std::vector<std::string> forbidden, allowed;
  for (auto it = either.begin(); it != either.end(); ++it) {
    const auto old_value = old_flat.find(it.key()), new_value = new_flat.find(it.key());
    const std::string was = old_value == old_flat.end() ? "unset" : old_value->dump();
    const std::string is = new_value == new_flat.end() ? "unset" : new_value->dump();
    if (was == is) continue;
    std::string name = it.key().substr(1);  // "/train/epochs" -> "train.epochs", as --set writes it
    std::replace(name.begin(), name.end(), '/', '.');
    (is_resumable(it.key()) ? allowed : forbidden).push_back(name + " (" + was + " -> " + is + ")");
  }
  if (!forbidden.empty()) {
    std::string keys, resumable;
    for (const auto& k : forbidden) keys += (keys.empty() ? "" : ", ") + k;
    for (const auto& k : resumable_keys()) {
      std::string name = k.pointer + 1;
      std::replace(name.begin(), name.end(), '/', '.');
      resumable += (resumable.empty() ? "" : ", ") + name;
    }
    throw UsageError("--resume " + checkpoint.string() + " cannot change " + keys +
                         ": a resumed run must compute what the stopped run would have",
                     "start a new run with --config to change them; --resume may change only " + resumable);
  }
  for (const auto& change : allowed) log::info("resume: " + change);
  warn_schedule_jump(before, now, steps_per_epoch, step);
}

void check_resume_position(const CheckpointMeta& meta, int64_t train_images, int64_t steps_per_epoch,
                           const std::filesystem::path& checkpoint) {
  if (!meta.order.defined()) return;  // an epoch boundary: nothing to fit
  if (meta.order.numel() != train_images || meta.batch < 0 || meta.batch > steps_per_epoch) {
    throw CheckpointError(format("%s: the checkpoint stopped at batch %lld of an epoch over %lld training images, but "
                                 "the data now has %lld images (%lld batches)",
                                 checkpoint.string().c_str(), static_cast<long long>(meta.batch),
                                 static_cast<long long>(meta.order.numel()), static_cast<long long>(train_images),
                                 static_cast<long long>(steps_per_epoch)),
                          "resume with the data the run was trained on (data.root, data.limit_train)");
  }
}

bool reports_pending(const CheckpointMeta& meta, const config::Config& c, const std::string& report_status) {
  const int64_t planned = meta.config.value(nlohmann::json::json_pointer("/train/epochs"), int64_t{0});
  const bool stopped_early = c.train.early_stopping.patience > 0 &&
                             meta.epochs_without_improvement >= c.train.early_stopping.patience;
  return !meta.order.defined() && planned == c.train.epochs && (meta.epoch >= planned || stopped_early) &&
         report_status != "completed" && report_status != "early_stopped";
}

std::string report_status(const std::filesystem::path& run_dir) {
  try {
    return nlohmann::json::parse(fs::read_file(run_dir / "report.json")).value("status", "");
  } catch (const std::exception&) {
    return "";
  }
}

std::string how_segment_ended(const report::Segment& segment, const std::filesystem::path& run_dir) {
  try {
    const nlohmann::json report = nlohmann::json::parse(fs::read_file(run_dir / "report.json"));
    const std::vector<report::Segment> segments = report::segments_from_json(report.value("segments", nlohmann::json()));
    const std::string status = report.value("status", "");
    if (!segments.empty() && segments.back().started_utc == segment.started_utc && status != "running") return status;
  } catch (const std::exception&) {
    // A missing or damaged report: the segment was killed before it could write one.
  }
  return "killed";
}

}  // namespace dltrain::train
