// The training run. run_training() reads top to bottom: set up (everything that can fail on bad input
// fails here, before step 0), then the epoch loop, then the reports. Helpers above it are free functions.
#include "dltrain/train/loop.hpp"

#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>
#include <utility>

#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/data/batches.hpp"
#include "dltrain/device/device.hpp"
#include "dltrain/device/monitor.hpp"
#include "dltrain/model/model.hpp"
#include "dltrain/report/metrics.hpp"
#include "dltrain/report/progress.hpp"
#include "dltrain/report/writers.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/device_optim.hpp"
#include "dltrain/train/evaluate.hpp"
#include "dltrain/train/finite_watch.hpp"
#include "dltrain/train/schedule.hpp"
#include "dltrain/train/signals.hpp"
#include "dltrain/train/step.hpp"
#include "dltrain/train/step_runner.hpp"
#include "dltrain/train/step_timer.hpp"

namespace dltrain::train {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Everything report.json needs besides the config, gathered as the run goes.
struct RunState {
  std::filesystem::path run_dir;
  nlohmann::json environment, dataset, model;
  std::vector<report::EpochRecord> history;
  std::vector<double> step_seconds;  // steady state: every step after the process's first
  double first_step_s = -1;          // warm-up: allocation, cuDNN autotuning
  const device::Monitor* sampler = nullptr;
  GradScaler* scaler = nullptr;  // fp16 runs
  nlohmann::json final_test;
  int64_t step = 0;
  int64_t best_epoch = 0;
  double best_metric = -std::numeric_limits<double>::infinity();
  std::string monitor;  // "val_accuracy" or "test_accuracy"
  int64_t epochs_without_improvement = 0;
  double data_load_s = 0, train_s = 0, eval_s = 0, checkpoint_s = 0;
  Clock::time_point start = Clock::now();
};

void check_batch_arithmetic(const config::Config& c, const data::Dataset& d) {
  if (c.train.batch_size > d.train.size()) {
    throw ConfigError("/train/batch_size: " + std::to_string(c.train.batch_size) + " is larger than the " +
                          std::to_string(d.train.size()) + " training images",
                      "lower train.batch_size (or raise data.limit_train)");
  }
}

void print_settings(const config::Config& c, const torch::Device& device, int threads, const data::Dataset& d,
                    const std::filesystem::path& run_dir, const nlohmann::json& env) {
  log::info("run directory: " + run_dir.string());
  log::info("device: " + device.str() + ", threads: " + std::to_string(threads) +
            (device::allocator_tuned() ? ", allocator: tuned" : ", allocator: glibc defaults"));
  if (device.is_cuda()) {
    log::info("CUDA: " + env["device_name"].get<std::string>() + "; LibTorch " + env["libtorch_version"].get<std::string>() +
              " built for CUDA " + env["libtorch_cuda"].dump() + ", runtime " + env["cuda_runtime"].dump() + ", cuDNN " +
              env["cudnn"].dump());
  }
  log::info("data: " + d.info->name + " from " + d.root.string() + ": train " + std::to_string(d.train.size()) +
            ", val " + std::to_string(d.val.size()) + ", test " + std::to_string(d.test.size()));
  log::info("settings:");
  const nlohmann::json flat = config::to_json(c).flatten();
  for (auto it = flat.begin(); it != flat.end(); ++it) {
    if (it.key().rfind("/model/", 0) == 0) continue;  // the layer table below shows the model
    log::info("  " + it.key().substr(1) + " = " + it.value().dump());
  }
}

nlohmann::json dataset_json(const data::Dataset& d) {
  return {{"name", d.info->name},     {"root", d.root.string()},   {"train", d.train.size()},
          {"val", d.val.size()},      {"test", d.test.size()},     {"classes", d.info->class_names},
          {"image_shape", std::vector<int64_t>{d.train.images.size(1), d.train.images.size(2), d.train.images.size(3)}},
          {"normalize", {{"mean", d.info->mean}, {"std", d.info->std}}}};
}

// Stops the run when a training loss so far was NaN or Inf, naming the first such step. Called at log lines, before
// every checkpoint write (so that no checkpoint holds the weights such a step produced) and at the end of an epoch.
void check_finite(const FiniteWatch& watch, int64_t steps_per_epoch, const RunState& s) {
  const int64_t bad = watch.first_bad_step();
  if (bad == 0) return;
  throw TrainingDiverged("training loss became NaN or Inf at step " + std::to_string(bad) + " (epoch " +
                             std::to_string((bad - 1) / steps_per_epoch + 1) + ")",
                         "lower train.optimizer.lr, set train.grad_clip (e.g. 1.0), or check the data; checkpoints "
                         "saved before it (if any) are intact in " + (s.run_dir / "checkpoints").string());
}

nlohmann::json report_json(const config::Config& c, const RunState& s, const std::string& status) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& r : s.history) epochs.push_back(report::to_json(r));
  const double total = seconds_since(s.start);
  return {{"status", status},
          {"run_dir", s.run_dir.string()},
          {"environment", s.environment},
          {"config", config::to_json(c)},
          {"dataset", s.dataset},
          {"model", s.model},
          {"epochs", epochs},
          {"final_test", s.final_test},
          {"best", {{"epoch", s.best_epoch}, {"monitor", s.monitor}, {"value", s.best_metric},
                    {"test_accuracy", s.best_epoch > 0 ? s.history[static_cast<size_t>(s.best_epoch - 1)].test_accuracy : kNaN},
                    {"checkpoint", (s.run_dir / "checkpoints" / "best.pt").string()}}},
          {"timings", {{"data_load_s", s.data_load_s}, {"first_step_s", s.first_step_s}, {"train_s", s.train_s},
                       {"eval_s", s.eval_s}, {"checkpoint_s", s.checkpoint_s}, {"total_s", total},
                       {"step_time", report::step_time_summary(s.step_seconds)}}},
          {"monitor", s.sampler != nullptr ? s.sampler->report() : nlohmann::json(nullptr)},
          {"peak_rss_mib", device::peak_rss_mib()}};
}

// A checkpoint at the end of the run's last epoch (all planned epochs, or early stopping) whose reports were never
// written: kill -9 between last.pt and report.json. Resuming it with the same epoch count completes the reports.
bool reports_pending(const CheckpointMeta& meta, const config::Config& c, const std::string& report_status) {
  const int64_t planned = meta.config.value(nlohmann::json::json_pointer("/train/epochs"), int64_t{0});
  const bool stopped_early = c.train.early_stopping.patience > 0 &&
                             meta.epochs_without_improvement >= c.train.early_stopping.patience;
  return !meta.order.defined() && planned == c.train.epochs && (meta.epoch >= planned || stopped_early) &&
         report_status != "completed" && report_status != "early_stopped";
}

// The status report.json gives a run, or "" when it is missing or unreadable.
std::string report_status(const std::filesystem::path& run_dir) {
  try {
    return nlohmann::json::parse(fs::read_file(run_dir / "report.json")).value("status", "");
  } catch (const std::exception&) {
    return "";
  }
}

// The current epoch's data order and running sums: what a mid-epoch checkpoint must hold.
struct EpochCursor {
  torch::Tensor order, loss_sum, correct;
  int64_t next_batch = 0;
  double seconds_before = 0.0;  // training time spent in this epoch before a resume
};

EpochCursor new_epoch(int64_t examples, const torch::TensorOptions& on_device) {
  return {torch::randperm(examples, on_device.dtype(torch::kInt64)), torch::zeros({}, on_device.dtype(torch::kFloat)),
          torch::zeros({}, on_device.dtype(torch::kInt64))};
}

EpochCursor resumed_epoch(const CheckpointMeta& meta, const torch::Device& device) {
  return {meta.order.to(device), meta.loss_sum.to(device), meta.correct.to(device), meta.batch, meta.epoch_seconds};
}

// `cursor` is null at an epoch boundary; `epoch_seconds` is the time spent so far in a cut epoch.
CheckpointMeta checkpoint_meta(const config::Config& c, const RunState& s, const data::Dataset& d,
                               const torch::Device& device, const EpochCursor* cursor = nullptr,
                               double epoch_seconds = 0.0) {
  CheckpointMeta meta;
  meta.epoch = static_cast<int64_t>(s.history.size());
  meta.step = s.step;
  meta.best_metric = s.best_metric;
  meta.best_epoch = s.best_epoch;
  meta.epochs_without_improvement = s.epochs_without_improvement;
  meta.config = config::to_json(c);
  meta.info = {{"dataset", d.info->name},
               {"num_classes", d.num_classes()},
               {"input_shape", s.model["input_shape"]},
               {"metrics", s.history.empty() ? nlohmann::json(nullptr) : report::to_json(s.history.back())}};
  for (const auto& r : s.history) meta.history.push_back(report::to_json(r));
  if (cursor != nullptr) {
    meta.batch = cursor->next_batch;
    meta.order = cursor->order;
    meta.loss_sum = cursor->loss_sum;
    meta.correct = cursor->correct;
    meta.epoch_seconds = epoch_seconds;
  }
  capture_rng(meta, device);
  if (s.scaler != nullptr) meta.loss_scale = s.scaler->state();
  return meta;
}

// Takes over a checkpoint's position: history, step count, best model, early-stopping count.
void restore_state(const CheckpointMeta& meta, RunState& s) {
  for (const auto& j : meta.history) s.history.push_back(report::epoch_record_from_json(j));
  for (const auto& r : s.history) {
    s.train_s += r.train_seconds;
    s.eval_s += r.eval_seconds;
  }
  s.step = meta.step;
  s.best_metric = meta.best_metric;
  s.best_epoch = meta.best_epoch;
  s.epochs_without_improvement = meta.epochs_without_improvement;
}

void log_config_changes(const nlohmann::json& before, const nlohmann::json& after) {
  const nlohmann::json old_flat = before.flatten(), new_flat = after.flatten();
  for (auto it = new_flat.begin(); it != new_flat.end(); ++it) {
    const auto was = old_flat.find(it.key());
    if (was == old_flat.end() || *was != it.value()) {
      log::info("resume: " + it.key().substr(1) + " changed: " + (was == old_flat.end() ? "(unset)" : was->dump()) +
                " -> " + it.value().dump());
    }
  }
}

void log_epoch(const config::Config& c, const report::EpochRecord& r, bool has_val, bool improved) {
  char val_text[64] = "";
  if (has_val) std::snprintf(val_text, sizeof(val_text), "val loss %.4f acc %.2f%%", r.val_loss, 100.0 * r.val_accuracy);
  char line[320];
  std::snprintf(line, sizeof(line),
                "epoch %lld/%lld  train loss %.4f acc %.2f%%  %s  test loss %.4f acc %.2f%%  lr %.3g  %.1f s  %.0f img/s%s",
                static_cast<long long>(r.epoch), static_cast<long long>(c.train.epochs), r.train_loss,
                100.0 * r.train_accuracy, val_text, r.test_loss, 100.0 * r.test_accuracy, r.lr, r.train_seconds,
                r.images_per_second, improved ? "  *best" : "");
  log::info(line);
}

void print_summary(const RunState& s, const report::EpochRecord& last, const train::EvalResult& test) {
  char line[512];
  std::snprintf(line, sizeof(line),
                "done: test accuracy %.2f%% ± %.2f%% (loss %.4f) after %zu epoch(s), %s training, %s total; "
                "best epoch %lld (%s %.2f%%); %.0f img/s; peak RSS %.0f MiB",
                100.0 * test.accuracy, 100.0 * report::accuracy_stderr(test.accuracy, test.total), test.loss,
                s.history.size(), report::format_duration(s.train_s).c_str(),
                report::format_duration(seconds_since(s.start)).c_str(), static_cast<long long>(s.best_epoch),
                s.monitor.c_str(), 100.0 * s.best_metric, last.images_per_second, device::peak_rss_mib());
  log::info(line);
  const nlohmann::json steps = report::step_time_summary(s.step_seconds);
  std::snprintf(line, sizeof(line),
                "timings: data load %.2f s, first step %.3f s, steps %.2f ms median / %.2f ms p95, eval %.2f s, "
                "checkpoints %.2f s",
                s.data_load_s, s.first_step_s, steps.is_null() ? kNaN : steps["median_ms"].get<double>(),
                steps.is_null() ? kNaN : steps["p95_ms"].get<double>(), s.eval_s, s.checkpoint_s);
  log::info(line);
  const std::string monitor = s.sampler != nullptr ? s.sampler->summary_line() : "";
  if (!monitor.empty()) log::info(monitor);
  log::info("reports: " + (s.run_dir / "report.json").string() + ", metrics.csv; checkpoints: " +
            (s.run_dir / "checkpoints").string() + "/{best,last}.pt");
}

}  // namespace

RunResult run_training(const config::Config& c, const RunOptions& options) {
  RunState s;
  const bool resuming = !options.resume_from.empty();

  // Set up: device, threads, seed, data, model, optimizer, run directory.
  const torch::Device device = device::resolve(c.train.device);
  const Precision precision = parse_precision(c.train.precision);
  check_precision(precision, device);
  const GraphChoice graphs = choose_cuda_graphs(c.train.cuda_graphs, device, precision);
  set_math_mode(precision, c.train.deterministic);
  const int threads = device::configure_threads(c.train.threads);
  torch::manual_seed(static_cast<uint64_t>(c.run.seed));
  auto t0 = Clock::now();
  const data::Dataset d = data::load_dataset(c.data, c.run.seed);
  check_batch_arithmetic(c, d);
  model::Model m = model::build(c.model, {d.train.images.size(1), d.train.images.size(2), d.train.images.size(3)},
                                d.num_classes());
  m.net->to(device, parameter_dtype(precision));
  const auto optimizer = std::make_unique<DeviceOptimizer>(m.net->parameters(), c.train.optimizer);
  const data::Split train = data::to_device(d.train, device);
  const data::Split val = data::to_device(d.val, device);
  const data::Split test = data::to_device(d.test, device);
  s.data_load_s = seconds_since(t0);

  CheckpointMeta resumed;
  bool finish_reports = false;  // resuming a run that had trained everything but not written its reports
  if (resuming) {
    resumed = restore_checkpoint(options.resume_from, *m.net, *optimizer);
    restore_state(resumed, s);
    restore_rng(resumed, device);  // after the model's initialisation drew from the generator
    s.run_dir = options.resume_from.parent_path().parent_path();
    if (const int stale = fs::remove_stale_temp_files(s.run_dir); stale > 0) {
      log::info("resume: removed " + std::to_string(stale) + " temporary file(s) of an interrupted write");
    }
    const std::string saved_precision =
        resumed.config.value(nlohmann::json::json_pointer("/train/precision"), std::string("fp32"));
    if (saved_precision != c.train.precision) {
      throw UsageError(options.resume_from.string() + ": the run trained in " + saved_precision +
                           "; --resume cannot change train.precision to " + c.train.precision,
                       "resume in " + saved_precision + ", or start a new run");
    }
    finish_reports = reports_pending(resumed, c, report_status(s.run_dir));
    if (static_cast<int64_t>(s.history.size()) >= c.train.epochs && !finish_reports) {
      throw UsageError(options.resume_from.string() + ": the run already completed " + std::to_string(s.history.size()) +
                           " of train.epochs=" + std::to_string(c.train.epochs) + " epochs",
                       "to train further, raise the epoch count: --resume ... --set train.epochs=N");
    }
  } else {
    s.run_dir = fs::create_run_dir(c.run.output_dir, c.run.name);
  }
  log::set_file((s.run_dir / "train.log").string());
  if (resuming) {
    log::info("resuming " + options.resume_from.string() + " at epoch " + std::to_string(resumed.epoch + 1) +
              ", batch " + std::to_string(resumed.batch) + " (step " + std::to_string(resumed.step) + ")");
    log_config_changes(resumed.config, config::to_json(c));
  }
  report::write_json(s.run_dir / "config.json", config::to_json(c));
  s.environment = device::environment(device);
  s.dataset = dataset_json(d);
  s.model = model::summary_json(m);
  s.monitor = val.size() > 0 ? "val_accuracy" : "test_accuracy";
  print_settings(c, device, threads, d, s.run_dir, s.environment);
  log::info("model:\n" + model::summary_table(m));

  const data::Normalizer normalize{d.info->mean, d.info->std, parameter_dtype(precision)};
  const int64_t batch_size = c.train.batch_size;
  const int64_t steps_per_epoch = data::train_batches(train.size(), batch_size);
  const ScheduleShape schedule{c.train.optimizer.lr, steps_per_epoch, c.train.epochs};
  const StepSettings step_settings{
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(c.train.label_smoothing), c.train.grad_clip,
      precision, device};
  StepRunner steps(m.net, *optimizer, step_settings, train, batch_size, normalize, graphs.use);
  s.scaler = steps.scaler();
  if (s.scaler != nullptr && resumed.loss_scale.defined()) s.scaler->set_state(resumed.loss_scale);
  if (device.is_cuda()) {
    log::info(graphs.use ? "CUDA graphs: on (the step is captured after " + std::to_string(StepRunner::kWarmupSteps) +
                               " eager warm-up steps)"
                         : "CUDA graphs: off (" + graphs.reason + ")");
  }
  const auto on_device = torch::TensorOptions().device(device);
  config::Interval checkpoint_every;
  config::parse_interval(c.train.checkpoint_every, checkpoint_every);
  const std::filesystem::path last_pt = s.run_dir / "checkpoints" / "last.pt";
  const std::filesystem::path best_pt = s.run_dir / "checkpoints" / "best.pt";
  report::Progress progress(c.train.epochs, steps_per_epoch, batch_size, c.train.log_interval, options.show_progress);
  const StopSignalGuard signals;
  StepTimer timer(device);
  device::Monitor sampler(device::monitor_options(device, options.monitor_interval_s));
  s.sampler = &sampler;
  std::string status = "completed";
  train::EvalResult test_result;
  FiniteWatch watch(device, s.step);
  std::optional<EpochCursor> pending;
  if (resuming && resumed.order.defined()) pending = resumed_epoch(resumed, device);
  report::write_json(s.run_dir / "report.json", report_json(c, s, "running"));

  try {
    for (int64_t epoch = static_cast<int64_t>(s.history.size()) + 1; !finish_reports && epoch <= c.train.epochs; ++epoch) {
      m.net->train();
      progress.start_epoch(epoch);
      const auto epoch_start = Clock::now();
      EpochCursor e = pending ? *std::exchange(pending, std::nullopt) : new_epoch(train.size(), on_device);
      double lr = c.train.optimizer.lr;
      // last.pt in the middle of this epoch: the next batch to train is `next_batch`.
      const auto save_mid_epoch = [&](int64_t next_batch) {
        check_finite(watch, steps_per_epoch, s);
        e.next_batch = next_batch;
        save_checkpoint(last_pt, checkpoint_meta(c, s, d, device, &e, e.seconds_before + seconds_since(epoch_start)),
                        *m.net, *optimizer);
      };
      for (int64_t b = e.next_batch; b < steps_per_epoch; ++b) {
        if (stop_requested()) {
          save_mid_epoch(b);
          throw Interrupted("interrupted at epoch " + std::to_string(epoch) + ", step " + std::to_string(s.step) +
                                "; checkpoint saved to " + last_pt.string(),
                            "continue with: dltrain train --resume " + s.run_dir.string());
        }
        timer.start();
        lr = lr_at(c.train.scheduler, schedule, s.step);
        optimizer->set_lr(lr);
        const StepOutput out = steps.run(e.order, b);
        watch.observe(out.loss);
        ++s.step;
        e.loss_sum += out.loss;
        e.correct += out.correct;
        timer.stop();
        const bool show = progress.due(b);
        if (show || s.step % c.train.log_interval == 0) check_finite(watch, steps_per_epoch, s);
        if (show) {
          progress.show(b, e.loss_sum.item<double>() / static_cast<double>(b + 1),
                        e.correct.item<double>() / static_cast<double>((b + 1) * batch_size));
        }
        if (checkpoint_every.steps && s.step % checkpoint_every.count == 0 && b + 1 < steps_per_epoch) {
          const auto checkpoint_start = Clock::now();
          save_mid_epoch(b + 1);
          s.checkpoint_s += seconds_since(checkpoint_start);
        }
        if (options.after_step) options.after_step(s.step);
      }
      progress.end_epoch();
      check_finite(watch, steps_per_epoch, s);
      timer.collect();
      s.step_seconds = timer.seconds();
      s.first_step_s = timer.first_step_seconds();

      // End of epoch: metrics, evaluation, early stopping, checkpoints.
      report::EpochRecord r;
      r.epoch = epoch;
      r.lr = lr;
      r.train_seconds = e.seconds_before + seconds_since(epoch_start);
      r.images_per_second = static_cast<double>(steps_per_epoch * batch_size) / r.train_seconds;
      r.train_loss = e.loss_sum.item<double>() / static_cast<double>(steps_per_epoch);
      r.train_accuracy = e.correct.item<double>() / static_cast<double>(steps_per_epoch * batch_size);
      s.train_s += r.train_seconds;
      const auto eval_start = Clock::now();
      r.val_loss = r.val_accuracy = kNaN;
      if (val.size() > 0) {
        const train::EvalResult v = evaluate(m.net, val, c.eval.batch_size, normalize, d.num_classes(), precision);
        r.val_loss = v.loss;
        r.val_accuracy = v.accuracy;
      }
      test_result = evaluate(m.net, test, c.eval.batch_size, normalize, d.num_classes(), precision);
      r.test_loss = test_result.loss;
      r.test_accuracy = test_result.accuracy;
      r.eval_seconds = seconds_since(eval_start);
      s.eval_s += r.eval_seconds;
      s.history.push_back(r);
      s.final_test = eval_json(test_result, d.info->class_names);

      const double monitored = val.size() > 0 ? r.val_accuracy : r.test_accuracy;
      const bool improved = monitored > s.best_metric + c.train.early_stopping.min_delta;
      if (improved) {
        s.best_metric = monitored;
        s.best_epoch = epoch;
        s.epochs_without_improvement = 0;
      } else {
        ++s.epochs_without_improvement;
      }
      const bool stop_early =
          c.train.early_stopping.patience > 0 && s.epochs_without_improvement >= c.train.early_stopping.patience;
      const bool last_epoch = epoch == c.train.epochs || stop_early;
      const auto checkpoint_start = Clock::now();
      const CheckpointMeta at_epoch_end = checkpoint_meta(c, s, d, device);
      if (improved) save_checkpoint(best_pt, at_epoch_end, *m.net, *optimizer);  // before last.pt: see reports_pending
      if (checkpoint_every.steps || epoch % checkpoint_every.count == 0 || last_epoch) {
        save_checkpoint(last_pt, at_epoch_end, *m.net, *optimizer);
      }
      s.checkpoint_s += seconds_since(checkpoint_start);
      report::write_metrics_csv(s.run_dir / "metrics.csv", s.history);
      report::write_json(s.run_dir / "report.json", report_json(c, s, last_epoch ? "completed" : "running"));
      log_epoch(c, r, val.size() > 0, improved);
      if (stop_early) {
        log::info("early stopping: no " + s.monitor + " improvement for " + std::to_string(s.epochs_without_improvement) +
                  " epoch(s)");
        status = "early_stopped";
        break;
      }
    }
  } catch (const Error& e) {
    // The report says how the run ended; the checkpoints already written stay as they are.
    const std::string ended = dynamic_cast<const Interrupted*>(&e) != nullptr       ? "interrupted"
                              : dynamic_cast<const TrainingDiverged*>(&e) != nullptr ? "diverged"
                                                                                     : "failed";
    nlohmann::json report = report_json(c, s, ended);
    report["error"] = {{"message", e.what()}, {"hint", e.hint()}};
    try {
      report::write_json(s.run_dir / "report.json", report);
      report::write_metrics_csv(s.run_dir / "metrics.csv", s.history);
    } catch (const Error&) {
      // The disk that failed the run may fail this too; the original error is the one to report.
    }
    log::set_file("");
    throw;
  }

  if (finish_reports) {
    log::info("resume: training had finished when the run was stopped; completing its reports and best.pt");
    if (static_cast<int64_t>(s.history.size()) < c.train.epochs) status = "early_stopped";
    test_result = evaluate(m.net, test, c.eval.batch_size, normalize, d.num_classes(), precision);
    s.final_test = eval_json(test_result, d.info->class_names);
    if (s.best_epoch == resumed.epoch) save_checkpoint(best_pt, checkpoint_meta(c, s, d, device), *m.net, *optimizer);
    report::write_metrics_csv(s.run_dir / "metrics.csv", s.history);
  }
  sampler.stop();
  for (const std::string& warning : device::monitor_warnings(sampler.samples())) log::warn(warning);
  report::write_json(s.run_dir / "report.json", report_json(c, s, status));
  print_summary(s, s.history.back(), test_result);
  log::set_file("");
  return {s.run_dir, test_result.accuracy, s.history[static_cast<size_t>(s.best_epoch - 1)].test_accuracy,
          static_cast<int64_t>(s.history.size())};
}

std::filesystem::path resume_checkpoint_path(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    throw CheckpointError("--resume " + path.string() + ": no such run directory or checkpoint",
                          "pass a run directory (e.g. runs/mnist_cnn) or its checkpoints/last.pt");
  }
  if (std::filesystem::is_directory(path)) return path / "checkpoints" / "last.pt";
  if (path.parent_path().filename() != "checkpoints") {
    throw UsageError("--resume " + path.string() + ": not a run directory nor a checkpoint in a run's checkpoints/ folder",
                     "pass the run directory (e.g. runs/mnist_cnn) or its checkpoints/last.pt; training continues there");
  }
  return path;
}

}  // namespace dltrain::train
