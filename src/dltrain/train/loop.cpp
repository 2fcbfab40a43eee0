// The training run, as an object whose member functions are its phases, in the order run() calls them:
//   set_up      device, data, model, optimizer, and a resume's checks: everything that can fail on bad input
//               fails here, before the run directory is created or touched;
//   open        the run directory, train.log, config.json and a first report.json;
//   train_epoch the batch loop;
//   end_epoch   evaluate, select the model (validation split only), checkpoint, report;
//   finish      the result's test numbers, the final reports and the summary.
// Whatever ends a run after open(), end_with_error() leaves report.json and train.log saying how it ended.
#include "dltrain/train/loop.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "dltrain/config/defaults.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/core/torch_compat.hpp"
#include "dltrain/data/batches.hpp"
#include "dltrain/device/device.hpp"
#include "dltrain/device/monitor.hpp"
#include "dltrain/dist/gradient_sync.hpp"
#include "dltrain/dist/group.hpp"
#include "dltrain/model/model.hpp"
#include "dltrain/report/metrics.hpp"
#include "dltrain/report/progress.hpp"
#include "dltrain/report/run_logs.hpp"
#include "dltrain/report/run_report.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/device_optim.hpp"
#include "dltrain/train/ema.hpp"
#include "dltrain/train/evaluate.hpp"
#include "dltrain/train/finite_watch.hpp"
#include "dltrain/train/resume.hpp"
#include "dltrain/train/schedule.hpp"
#include "dltrain/train/signals.hpp"
#include "dltrain/train/step_runner.hpp"
#include "dltrain/train/step_timer.hpp"

namespace dltrain::train {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kMistakesShown = 32;  // report.html's most confident mistakes

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The current epoch's data order and running sums: what a mid-epoch checkpoint must hold. After the batch loop,
// next_batch is the epoch's batch count and seconds_before its whole training time.
struct EpochCursor {
  torch::Tensor order, loss_sum, correct;
  int64_t next_batch = 0;
  double seconds_before = 0.0;  // training time spent in this epoch before the current process took it up
};

// The log interval steps.csv's next row covers. Rows come from the epoch's running sums, read at each row: what
// earlier epochs' tails added (loss, correct, steps), the sums at the last read, and the training time so far.
struct IntervalTally {
  double loss = 0.0, correct = 0.0, seconds = 0.0;
  int64_t steps = 0;
  double read_loss = 0.0, read_correct = 0.0;
  int64_t read_batch = 0;
  Clock::time_point since;
};

// The description (name, classes, image_shape, per-channel mean and std: what checkpoints store) and where from.
nlohmann::json dataset_json(const data::Dataset& d) {
  nlohmann::json j = data::to_json(d.desc);
  j.update({{"root", std::filesystem::absolute(d.root).lexically_normal().string()},
            {"train", d.train.size()},
            {"val", d.val.size()},
            {"test", d.test.size()}});
  return j;
}

// "train.epochs=3, train.optimizer.lr=0.01": the settings that differ from the defaults of the config's optimizer
// and scheduler (the model is shown as a table instead).
std::string changed_settings(const config::Config& c) {
  std::string text;
  const nlohmann::json flat = config::to_json(c).flatten();
  for (const std::string& pointer : config::changed_from_defaults(c)) {
    std::string key = pointer.substr(1);  // "/train/epochs" -> "train.epochs"
    std::replace(key.begin(), key.end(), '/', '.');
    text += (text.empty() ? "" : ", ") + key + "=" + flat[pointer].dump();
  }
  return text;
}

[[noreturn]] void interrupted(const std::string& what, const std::filesystem::path& run_dir) {
  throw Interrupted(what, "continue with: dltrain train --resume " + run_dir.string());
}

class Run {
 public:
  Run(const config::Config& config, const RunOptions& options) : c_(config), options_(options) {}
  RunResult run();

 private:
  void set_up();
  void set_up_model();
  void restore_resumed();
  void open();
  void open_worker();
  void describe() const;
  EpochCursor train_epoch(int64_t epoch);
  void after_step(EpochCursor& e, int64_t b);
  void log_row(double loss_sum, double correct, int64_t batches);
  bool end_epoch(int64_t epoch, EpochCursor& e);
  void evaluate_epoch(report::EpochRecord& r, EpochCursor& e);
  bool select(const report::EpochRecord& r);
  RunResult finish();
  void measure_tta();
  [[noreturn]] void end_with_error();

  void join_workers();
  void set_up_workers();
  EvalResult evaluate_split(torch::nn::Sequential& net, const data::Split& split, const std::string& name,
                            bool all_workers = true, bool tta = false);
  void record_test(const EvalResult& t, nlohmann::json& into, const std::string& model);
  void check_finite() const;
  bool stop_agreed();
  void sum_across(torch::Tensor& t, const std::string& what);
  EpochCursor global_sums(const EpochCursor& e);
  void average_buffers();
  void save(const std::filesystem::path& path, const EpochCursor* cursor = nullptr, double epoch_seconds = 0.0);
  void write_reports(const std::string& status, const nlohmann::json& error = nullptr);
  void touch_segment(const std::string& how);
  void log_epoch(const report::EpochRecord& r, bool improved) const;
  void print_summary(const RunResult& result) const;
  bool resuming() const { return !options_.resume_from.empty(); }
  bool leader() const { return options_.world.leader(); }
  int workers() const { return options_.world.size; }

  const config::Config& c_;
  const RunOptions& options_;
  const Clock::time_point start_ = Clock::now();
  torch::Device device_ = torch::kCPU;
  Precision precision_ = Precision::kFp32;
  GraphChoice graphs_;
  int threads_ = 1;
  data::Dataset d_;
  data::Split train_, val_, test_;
  std::optional<data::Normalizer> normalize_;
  model::Model m_;
  std::unique_ptr<DeviceOptimizer> optimizer_;
  std::unique_ptr<WeightAverage> ema_;  // train.ema
  std::unique_ptr<dist::Group> group_;  // data-parallel runs only
  std::unique_ptr<dist::GradientSync> sync_;
  std::unique_ptr<StepRunner> steps_;
  int64_t steps_per_epoch_ = 0;
  config::Interval checkpoint_every_;  // train.checkpoint_every, parsed once
  CheckpointMeta resumed_;
  bool finish_only_ = false;  // resuming a run that had trained everything but not written its reports
  std::optional<EpochCursor> pending_;  // a resumed mid-epoch position
  std::filesystem::path run_dir_, last_pt_, best_pt_;
  report::RunRecord record_;
  int64_t final_test_epoch_ = 0;  // the epoch whose model record_.final_test measured
  std::unique_ptr<report::Progress> progress_;
  std::unique_ptr<StopSignalGuard> signals_;
  std::unique_ptr<StepTimer> timer_;
  std::unique_ptr<device::Monitor> sampler_;
  std::unique_ptr<FiniteWatch> watch_;
  std::unique_ptr<report::RunLogs> logs_;  // steps.csv, tb/, report.html (rank 0)
  IntervalTally tally_;
  double earlier_seconds_ = 0.0;  // wall time of the run's earlier processes (a resumed run)
  Clock::time_point epoch_start_;
  ScheduleShape schedule_{};
};

RunResult Run::run() {
  set_up();
  try {
    open();
    for (int64_t epoch = static_cast<int64_t>(record_.history.size()) + 1; !finish_only_ && epoch <= c_.train.epochs;
         ++epoch) {
      EpochCursor e = train_epoch(epoch);
      if (end_epoch(epoch, e)) break;
    }
    return finish();
  } catch (...) {
    end_with_error();
  }
}

// ---- set up ----

void Run::set_up() {
  device_ = device::resolve(c_.train.device);
  precision_ = c_.train.precision;
  check_precision(precision_, device_);
  join_workers();
  graphs_ = group_ ? GraphChoice{false, "a data-parallel step reads the workers' votes on the host"}
                   : choose_cuda_graphs(c_.train.cuda_graphs, device_, precision_);
  set_math_mode(precision_, c_.train.deterministic);
  // Workers on one machine share its cores unless --threads says otherwise.
  const int64_t threads = c_.train.threads == 0 && workers() > 1
                              ? std::max(1, device::available_cores() / options_.world.local_size)
                              : c_.train.threads;
  threads_ = device::configure_threads(threads);
  config::parse_interval(c_.train.checkpoint_every, checkpoint_every_);  // validated by config::parse
  torch::manual_seed(static_cast<uint64_t>(c_.run.seed));
  const auto t0 = Clock::now();
  std::filesystem::path remembered_root;  // where the resumed run found its data
  if (resuming()) {
    resumed_ = read_checkpoint_meta(options_.resume_from);
    if (resumed_.info.contains("data_root")) remembered_root = resumed_.info["data_root"].get<std::string>();
  }
  d_ = data::load_dataset(c_.data, remembered_root);
  if (c_.train.batch_size > d_.train.size()) {
    throw ConfigError(format("/train/batch_size: %lld is larger than the %lld training images",
                             static_cast<long long>(c_.train.batch_size), static_cast<long long>(d_.train.size())),
                      "lower train.batch_size (or raise data.limit_train, or lower data.val_split)");
  }
  set_up_model();
  record_.timings.data_load_s = seconds_since(t0);
  if (resuming()) restore_resumed();
}

// A data-parallel run: this worker's device (cuda:LOCAL_RANK), the process group, and the check that every worker
// was started alike, all before the data is loaded.
void Run::join_workers() {
  const dist::World& w = options_.world;
  if (!w.distributed()) return;
  if (device_.is_cuda()) {
    const auto gpus = static_cast<int>(torch::cuda::device_count());
    if (w.local_rank >= gpus) {
      throw DeviceError(format("rank %d: LOCAL_RANK %d needs a GPU of its own and this machine has %d", w.rank,
                               w.local_rank, gpus),
                        format("start at most %d worker(s) per machine, or train on the CPU with --device cpu", gpus));
    }
    device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(w.local_rank));
  }
  if (c_.train.batch_size % w.size != 0) {
    throw ConfigError(format("/train/batch_size: %lld cannot be split evenly over %d workers",
                             static_cast<long long>(c_.train.batch_size), w.size),
                      "train.batch_size is the global batch; each worker takes batch_size / workers: make it a "
                      "multiple of the worker count");
  }
  if (c_.train.cuda_graphs == config::CudaGraphs::kOn) {
    throw ConfigError("/train/cuda_graphs: on, but a data-parallel step reads the workers' votes on the host",
                      "set train.cuda_graphs to auto (or off)");
  }
  const auto backend = dist::choose_backend(c_.train.distributed.backend, device_);
  group_ = std::make_unique<dist::Group>(
      w, backend, std::chrono::milliseconds(static_cast<int64_t>(1000 * c_.train.distributed.timeout)), device_);
  nlohmann::json config = config::to_json(c_);
  config["data"].erase("root");  // where each machine keeps its data, writes and how many cores it has
  config["run"].erase("output_dir");
  config["train"].erase("threads");
  group_->check_same({{"dltrain", DLTRAIN_VERSION},
                      {"libtorch", compat::torch_version()},
                      {"config", config},
                      {"resume", options_.resume_from.string()}});
}

// Every worker starts from rank 0's weights (equal already, from the same seed: this makes sure) and averages its
// gradients with the others' at every step.
void Run::set_up_workers() {
  if (!group_) return;
  torch::NoGradGuard no_grad;
  for (torch::Tensor t : m_.net->parameters()) group_->broadcast(t, "the initial weights' broadcast");
  for (torch::Tensor t : m_.net->buffers()) group_->broadcast(t, "the initial buffers' broadcast");
  sync_ = std::make_unique<dist::GradientSync>(*group_, m_.net->parameters(), c_.train.distributed.overlap);
  if (const char* step = std::getenv("DLTRAIN_INJECT_NAN_AT_STEP"); step != nullptr) {
    sync_->inject_nan_at(std::atoll(step));
  }
}

void Run::set_up_model() {
  if (resuming()) {  // normalise with the statistics the run started with
    const data::Description trained = trained_on(resumed_, c_);
    d_.desc.mean = trained.mean;
    d_.desc.std = trained.std;
  }
  m_ = model::build(c_.model, d_.desc.image_shape, d_.num_classes());
  m_.net->to(device_, parameter_dtype(precision_));
  set_up_workers();
  if (c_.train.ema.decay > 0) ema_ = std::make_unique<WeightAverage>(m_.net, c_.train.ema.decay);
  optimizer_ = std::make_unique<DeviceOptimizer>(m_.net->parameters(), c_.train.optimizer);
  train_ = data::to_device(d_.train, device_);
  val_ = data::to_device(d_.val, device_);
  test_ = data::to_device(d_.test, device_);
  normalize_.emplace(data::Normalizer(d_.desc, parameter_dtype(precision_)));
  steps_per_epoch_ = data::train_batches(train_.size(), c_.train.batch_size);
  const int64_t horizon = c_.train.scheduler.horizon_epochs;
  schedule_ = {c_.train.optimizer.lr, steps_per_epoch_, horizon > 0 ? horizon : c_.train.epochs};
  StepSettings settings{
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(c_.train.label_smoothing), c_.train.grad_clip,
      precision_, device_};
  settings.sync = sync_.get();
  const data::Augmenter augment(c_.data.augment, *normalize_, d_.desc.image_shape, device_);
  steps_ = std::make_unique<StepRunner>(m_.net, *optimizer_, settings, train_, c_.train.batch_size, *normalize_,
                                        augment, graphs_.use, options_.world.rank, workers());
}

// The checkpoint's weights, optimizer state, position and random state, after the checks of the resume contract.
void Run::restore_resumed() {
  const std::filesystem::path& path = options_.resume_from;
  if (resumed_.format < 4 && c_.data.val_split > 0) {
    throw CheckpointError(path.string() + ": a format " + std::to_string(resumed_.format) +
                              " checkpoint held out a random validation split; this dltrain holds out the last images",
                          "evaluate it with `dltrain eval`, or start a new run");
  }
  check_resume_config(resumed_.config, c_, path, steps_per_epoch_, resumed_.step);
  resumed_ = restore_checkpoint(path, *m_.net, *optimizer_, ema_ ? &*ema_->net() : nullptr);
  check_resume_position(resumed_, train_.size(), steps_per_epoch_, path);
  restore_record(resumed_, record_);
  restore_rng(resumed_, device_);  // after the model's initialisation drew from the generator
  if (steps_->scaler() != nullptr && resumed_.loss_scale.defined()) steps_->scaler()->set_state(resumed_.loss_scale);
  if (resumed_.order.defined()) {
    pending_ = EpochCursor{resumed_.order.to(device_), resumed_.loss_sum.to(device_), resumed_.correct.to(device_),
                           resumed_.batch, resumed_.epoch_seconds};
    if (!leader()) {  // the saved sums are over all workers: rank 0 carries them on
      pending_->loss_sum.zero_();
      pending_->correct.zero_();
    }
  }
  run_dir_ = path.parent_path().parent_path();
  finish_only_ = reports_pending(resumed_, c_, report_status(run_dir_));
  const int64_t patience = c_.train.early_stopping.patience;
  if (!finish_only_ && !resumed_.order.defined() && patience > 0 &&
      record_.selection.evals_without_improvement >= patience) {
    throw UsageError(format("%s: the run stopped early after epoch %lld (no val_accuracy improvement in %lld validation "
                            "passes)",
                            path.string().c_str(), static_cast<long long>(record_.history.size()),
                            static_cast<long long>(record_.selection.evals_without_improvement)),
                     "to train further, raise the patience: --resume ... --set train.early_stopping.patience=N");
  }
  if (static_cast<int64_t>(record_.history.size()) >= c_.train.epochs && !finish_only_) {
    throw UsageError(path.string() + ": the run already completed " + std::to_string(record_.history.size()) +
                         " of train.epochs=" + std::to_string(c_.train.epochs) + " epochs",
                     "to train further, raise the epoch count: --resume ... --set train.epochs=N");
  }
}

// The run directory, its log and first reports; the per-run helpers (progress, signals, timers, monitor).
void Run::open() {
  // Rank 0 alone touches the run directory: another worker removing "stale" temporary files would remove the ones
  // rank 0 is writing.
  if (resuming() && leader()) {
    if (const int stale = fs::remove_stale_temp_files(run_dir_); stale > 0) {
      log::info("resume: removed " + std::to_string(stale) + " temporary file(s) of an interrupted write");
    }
    if (!record_.segments.empty()) record_.segments.back().how = how_segment_ended(record_.segments.back(), run_dir_);
  } else if (leader()) {
    run_dir_ = fs::create_run_dir(c_.run.output_dir, c_.run.name);
  }
  if (group_) run_dir_ = group_->share("run_dir", run_dir_.string());
  last_pt_ = run_dir_ / "checkpoints" / "last.pt";
  best_pt_ = run_dir_ / "checkpoints" / "best.pt";
  if (!leader()) {  // the other workers write nothing; their warnings and errors reach the console
    open_worker();
    return;
  }
  log::set_file((run_dir_ / "train.log").string());
  if (options_.on_run_dir) options_.on_run_dir(run_dir_);
  if (resuming()) {
    log::info(format("resuming %s at epoch %lld, batch %lld (step %lld)", options_.resume_from.string().c_str(),
                     static_cast<long long>(resumed_.epoch + 1), static_cast<long long>(resumed_.batch),
                     static_cast<long long>(resumed_.step)));
  }
  record_.run_dir = run_dir_;
  record_.command_line = options_.command_line;
  record_.host = dist::host_name();
  record_.environment = device::environment(device_);
  record_.config = config::to_json(c_);
  record_.config_sha256 = report::sha256_hex(record_.config.dump());
  record_.dataset = dataset_json(d_);
  record_.model = model::summary_json(m_);
  record_.selection.monitor = val_.size() > 0 ? "val_accuracy" : "";
  if (group_) record_.distributed = group_->describe();
  record_.segments.push_back({report::utc_now(), "", "running", record_.step, record_.step, 0.0});
  report::write_json(run_dir_ / "config.json", record_.config);
  logs_ = std::make_unique<report::RunLogs>(run_dir_, record_.host, resuming() ? record_.step : -1,
                                            config::changed_from_defaults(c_));
  for (size_t i = 0; i + 1 < record_.segments.size(); ++i) earlier_seconds_ += record_.segments[i].seconds;
  describe();
  open_worker();
  write_reports("running");
}

// The per-run helpers every worker has: progress (shown by rank 0 only), signals, timers, monitor, finite watch.
void Run::open_worker() {
  progress_ = std::make_unique<report::Progress>(c_.train.epochs, steps_per_epoch_, c_.train.batch_size,
                                                 c_.train.log_interval, options_.show_progress && leader());
  signals_ = std::make_unique<StopSignalGuard>();
  if (group_) set_repeat_grace(2.0);
  timer_ = std::make_unique<StepTimer>(device_);
  sampler_ = std::make_unique<device::Monitor>(
      device::monitor_options(device_, leader() ? options_.monitor_interval_s : 0.0));
  watch_ = std::make_unique<FiniteWatch>(device_, record_.step);
}

// The console shows what a person reads (device, data, changed settings, the model); every setting goes to
// train.log (and the console with -v).
void Run::describe() const {
  log::info("run directory: " + run_dir_.string());
  log::info("device: " + device_.str() + ", threads: " + std::to_string(threads_) +
            (device::allocator_tuned() ? ", allocator: tuned" : ", allocator: glibc defaults"));
  if (group_) {
    const dist::World& w = options_.world;
    log::info(format("data-parallel: %d workers (%d on this machine), %s, rendezvous %s, started by %s; global batch "
                     "%lld = %d x %lld",
                     w.size, w.local_size, group_->backend_name().c_str(), w.rendezvous().c_str(), w.launcher.c_str(),
                     static_cast<long long>(c_.train.batch_size), w.size,
                     static_cast<long long>(c_.train.batch_size / w.size)));
    for (const nlohmann::json& r : record_.distributed["ranks"]) log::debug("  worker " + r.dump());
  }
  const nlohmann::json& env = record_.environment;
  if (device_.is_cuda()) {
    log::info("CUDA: " + env["device_name"].get<std::string>() + "; LibTorch " + env["libtorch_version"].get<std::string>() +
              " built for CUDA " + env["libtorch_cuda"].dump() + ", runtime " + env["cuda_runtime"].dump() + ", cuDNN " +
              env["cudnn"].dump());
    log::info(graphs_.use ? "CUDA graphs: on (the step is captured after " + std::to_string(StepRunner::kWarmupSteps) +
                                " eager warm-up steps)"
                          : "CUDA graphs: off (" + graphs_.reason + ")");
  }
  log::info(format("data: %s from %s: train %lld, val %lld, test %lld", d_.info->name.c_str(), d_.root.string().c_str(),
                   static_cast<long long>(d_.train.size()), static_cast<long long>(d_.val.size()),
                   static_cast<long long>(d_.test.size())));
  if (val_.size() == 0) log::info("no validation split: the final model is the result (no selection)");
  const std::string changed = changed_settings(c_);
  log::info("settings changed from the defaults: " + (changed.empty() ? "none" : changed));
  const nlohmann::json flat = record_.config.flatten();
  for (auto it = flat.begin(); it != flat.end(); ++it) log::debug("  " + it.key().substr(1) + " = " + it.value().dump());
  log::info("model:\n" + model::summary_table(m_));
}

// ---- train ----

EpochCursor Run::train_epoch(int64_t epoch) {
  m_.net->train();
  progress_->start_epoch(epoch);
  epoch_start_ = Clock::now();
  const auto on_device = torch::TensorOptions().device(device_);
  EpochCursor e = pending_ ? *std::exchange(pending_, std::nullopt)
                           : EpochCursor{torch::randperm(train_.size(), on_device.dtype(torch::kInt64)),
                                         torch::zeros({}, on_device.dtype(torch::kFloat)),
                                         torch::zeros({}, on_device.dtype(torch::kInt64))};
  if (group_) group_->broadcast(e.order, "the epoch's data order");  // equal already (same seed): made sure
  tally_.read_batch = e.next_batch;  // a resumed epoch's sums so far belong to no row of this process
  tally_.read_loss = e.next_batch > 0 ? e.loss_sum.item<double>() : 0.0;
  tally_.read_correct = e.next_batch > 0 ? e.correct.item<double>() : 0.0;
  tally_.since = Clock::now();
  for (int64_t b = e.next_batch; b < steps_per_epoch_; ++b) {
    if (sync_ ? sync_->stop_voted() : stop_requested()) {  // data-parallel: a vote of the last all-reduce
      e.next_batch = b;
      save(last_pt_, &e, e.seconds_before + seconds_since(epoch_start_));
      interrupted(format("interrupted at epoch %lld, step %lld; checkpoint saved to %s", static_cast<long long>(epoch),
                         static_cast<long long>(record_.step), last_pt_.string().c_str()),
                  run_dir_);
    }
    timer_->start();
    optimizer_->set_lr(lr_at(c_.train.scheduler, schedule_, record_.step));
    if (sync_) sync_->begin_step(record_.step + 1, stop_requested());
    const StepOutput out = steps_->run(e.order, b);
    watch_->observe(sync_ ? sync_->any_loss_not_finite() : out.loss);
    ++record_.step;
    if (ema_) ema_->update(m_.net, record_.step);
    e.loss_sum.add_(out.loss, 1.0 / workers());  // summed over the workers when read
    e.correct += out.correct;
    timer_->stop();
    after_step(e, b);
  }
  progress_->clear();
  check_finite();
  tally_.seconds += seconds_since(tally_.since);
  e.seconds_before += seconds_since(epoch_start_);
  e.next_batch = steps_per_epoch_;
  return e;
}

// Progress, steps.csv rows, the divergence check at log lines, step checkpoints, the test hook.
void Run::after_step(EpochCursor& e, int64_t b) {
  // A row every log_interval steps of the run; data-parallel workers read their sums together, at those steps.
  const bool row = record_.step % c_.train.log_interval == 0;
  const bool show = group_ ? row : progress_->due(b);
  if (row || show) {
    check_finite();
    const EpochCursor sums = global_sums(e);
    const double loss_sum = sums.loss_sum.item<double>(), correct = sums.correct.item<double>();
    if (show) progress_->show(b, loss_sum / static_cast<double>(b + 1), correct / static_cast<double>((b + 1) * c_.train.batch_size));
    if (row) log_row(loss_sum, correct, b + 1);
  }
  if (checkpoint_every_.steps && record_.step % checkpoint_every_.count == 0 && b + 1 < steps_per_epoch_) {
    const auto checkpoint_start = Clock::now();
    e.next_batch = b + 1;
    save(last_pt_, &e, e.seconds_before + seconds_since(epoch_start_));
    record_.timings.checkpoint_s += seconds_since(checkpoint_start);
  }
  if (options_.after_step) options_.after_step(record_.step);
}

// A steps.csv row (and its TensorBoard scalars) for the interval that ends now, from the epoch's sums after
// `batches` batches.
void Run::log_row(double loss_sum, double correct, int64_t batches) {
  IntervalTally& t = tally_;
  t.seconds += seconds_since(t.since);
  t.since = Clock::now();
  t.loss += loss_sum - t.read_loss;
  t.correct += correct - t.read_correct;
  t.steps += batches - t.read_batch;
  t.read_loss = loss_sum;
  t.read_correct = correct;
  t.read_batch = batches;
  if (logs_ && t.steps > 0) {
    const auto images = static_cast<double>(t.steps * c_.train.batch_size);
    logs_->interval({record_.step, static_cast<int64_t>(record_.history.size()) + 1, t.loss / static_cast<double>(t.steps),
                     t.correct / images, lr_at(c_.train.scheduler, schedule_, record_.step - 1), images / t.seconds,
                     earlier_seconds_ + seconds_since(start_)},
                    sampler_->latest());
  }
  t.loss = t.correct = t.seconds = 0.0;
  t.steps = 0;
}

// ---- end of an epoch ----

// Returns true when the run stops early.
bool Run::end_epoch(int64_t epoch, EpochCursor& e) {
  timer_->collect();
  record_.timings.step_seconds = timer_->seconds();
  record_.timings.first_step_s = timer_->first_step_seconds();
  report::EpochRecord r;
  r.epoch = epoch;
  r.lr = lr_at(c_.train.scheduler, schedule_, record_.step - 1);  // the epoch's last step
  r.train_seconds = e.seconds_before;
  r.images_per_second = static_cast<double>(steps_per_epoch_ * c_.train.batch_size) / r.train_seconds;
  r.step = record_.step;
  const EpochCursor sums = global_sums(e);
  const double loss_sum = sums.loss_sum.item<double>(), correct = sums.correct.item<double>();
  r.train_loss = loss_sum / static_cast<double>(steps_per_epoch_);
  r.train_accuracy = correct / static_cast<double>(steps_per_epoch_ * c_.train.batch_size);
  tally_.loss += loss_sum - tally_.read_loss;  // the epoch's tail goes into the next row
  tally_.correct += correct - tally_.read_correct;
  tally_.steps += steps_per_epoch_ - tally_.read_batch;
  average_buffers();
  evaluate_epoch(r, e);
  record_.timings.train_s += r.train_seconds;
  record_.timings.eval_s += r.eval_seconds;
  record_.history.push_back(r);
  if (logs_) logs_->epoch(r);
  const bool improved = select(r);
  const int64_t patience = c_.train.early_stopping.patience;
  const bool stop_early = patience > 0 && record_.selection.evals_without_improvement >= patience;
  const bool last_epoch = epoch == c_.train.epochs || stop_early;
  const auto checkpoint_start = Clock::now();
  if (improved) save(best_pt_);  // before last.pt: see reports_pending
  if (checkpoint_every_.steps || epoch % checkpoint_every_.count == 0 || last_epoch) save(last_pt_);
  record_.timings.checkpoint_s += seconds_since(checkpoint_start);
  write_reports("running");
  if (leader()) log_epoch(r, improved);
  if (stop_early) {
    log::info(format("early stopping: no val_accuracy improvement in %lld validation pass(es)",
                     static_cast<long long>(record_.selection.evals_without_improvement)));
  }
  return stop_early;
}

// Validation and (unless eval.test_during_training is false) test, every eval.every epochs and after the last.
// A stop request during it saves the epoch's position (all batches trained) and ends the run as interrupted.
void Run::evaluate_epoch(report::EpochRecord& r, EpochCursor& e) {
  r.val_loss = r.val_accuracy = r.test_loss = r.test_accuracy = kNaN;
  if (r.epoch % c_.eval.every != 0 && r.epoch != c_.train.epochs) return;
  const auto eval_start = Clock::now();
  if (val_.size() > 0) {
    const EvalResult v = evaluate_split(m_.net, val_, "val");
    r.val_loss = v.loss;
    r.val_accuracy = v.accuracy;
  }
  if (c_.eval.test_during_training) {
    const EvalResult t = evaluate_split(m_.net, test_, "test");
    r.test_loss = t.loss;
    r.test_accuracy = t.accuracy;
    record_test(t, record_.final_test, format("the model of epoch %lld", static_cast<long long>(r.epoch)));
    final_test_epoch_ = r.epoch;
  }
  if (ema_) {  // the moving average, measured the same way
    if (val_.size() > 0) {
      const EvalResult v = evaluate_split(ema_->net(), val_, "val (ema)");
      r.ema_val_loss = v.loss;
      r.ema_val_accuracy = v.accuracy;
    }
    if (c_.eval.test_during_training) {
      const EvalResult t = evaluate_split(ema_->net(), test_, "test (ema)");
      r.ema_test_loss = t.loss;
      r.ema_test_accuracy = t.accuracy;
    }
  }
  r.eval_seconds = seconds_since(eval_start);
  progress_->set_eval_seconds(r.eval_seconds / static_cast<double>(c_.eval.every));
  if (stop_agreed()) {
    save(last_pt_, &e, e.seconds_before);
    interrupted(format("interrupted while evaluating epoch %lld; checkpoint saved to %s (its evaluation runs again on "
                       "resume)",
                       static_cast<long long>(r.epoch), last_pt_.string().c_str()),
                run_dir_);
  }
}

// Model selection on the validation split; returns whether this epoch's model is the best so far. With train.ema the
// epoch's candidate is the better on validation of its trained weights and their moving average (a tie: trained).
bool Run::select(const report::EpochRecord& r) {
  report::Selection& s = record_.selection;
  if (s.monitor.empty() || !std::isfinite(r.val_accuracy)) return false;
  const bool average_better = std::isfinite(r.ema_val_accuracy) && r.ema_val_accuracy > r.val_accuracy;
  const double value = average_better ? r.ema_val_accuracy : r.val_accuracy;
  if (value > s.value + c_.train.early_stopping.min_delta) {
    s.value = value;
    s.weights = average_better ? "ema" : "trained";
    s.epoch = r.epoch;
    s.evals_without_improvement = 0;
    return true;
  }
  ++s.evals_without_improvement;
  return false;
}

// ---- finish ----

RunResult Run::finish() {
  if (finish_only_) log::info("resume: training had finished when the run was stopped; completing its reports");
  const auto last = static_cast<int64_t>(record_.history.size());
  const report::Selection& selection = record_.selection;
  if (final_test_epoch_ != last) {
    const EvalResult t = evaluate_split(m_.net, test_, "test");
    record_test(t, record_.final_test, format("the final model (epoch %lld)", static_cast<long long>(last)));
    record_.history.back().test_loss = t.loss;
    record_.history.back().test_accuracy = t.accuracy;
  }
  if (ema_ && !std::isfinite(record_.history.back().ema_test_accuracy)) {
    const EvalResult t = evaluate_split(ema_->net(), test_, "test (ema)");
    record_.history.back().ema_test_loss = t.loss;
    record_.history.back().ema_test_accuracy = t.accuracy;
  }
  if (selection.epoch == last && selection.weights == "trained") {  // best.pt is the final model: the same evaluation
    record_.selected_test = record_.final_test;
    record_.selected_test["model"] = format("best.pt (epoch %lld)", static_cast<long long>(last));
    if (record_.mistakes.is_object()) record_.mistakes["model"] = record_.selected_test["model"];
  } else if (selection.epoch > 0 && leader()) {  // best.pt is on rank 0's disk: rank 0 alone evaluates it
    LoadedCheckpoint best = load_checkpoint(best_pt_);
    best.model.net->to(device_);
    record_test(evaluate_split(best.model.net, test_, "test", false), record_.selected_test,
                format("best.pt (epoch %lld%s)", static_cast<long long>(selection.epoch),
                       selection.weights == "ema" ? ", moving average" : ""));
  }
  measure_tta();
  if (stop_agreed()) {
    interrupted("interrupted during the final evaluation; training is complete and saved in " + last_pt_.string(),
                run_dir_);
  }
  sampler_->stop();
  for (const std::string& warning : device::monitor_warnings(sampler_->samples())) log::warn(warning);
  const std::string status = last < c_.train.epochs ? "early_stopped" : "completed";
  write_reports(status);
  const bool selected = selection.epoch > 0;
  const nlohmann::json& headline = selected && leader() ? record_.selected_test : record_.final_test;
  const RunResult result{run_dir_,      status,
                         selected ? "best.pt" : "final",
                         selected ? selection.epoch : last,
                         headline["accuracy"].get<double>(),
                         record_.final_test["accuracy"].get<double>(),
                         last};
  if (leader()) print_summary(result);
  log::set_file("");
  return result;
}

// eval.tta: the result's model (best.pt, else the final one) on the test split with shifted views, reported beside
// the plain number and never used to select. Rank 0 measures it alone, on the whole split.
void Run::measure_tta() {
  if (!c_.eval.tta || !leader()) return;
  const bool selected = record_.selection.epoch > 0;
  torch::nn::Sequential net = m_.net;
  if (selected) {
    LoadedCheckpoint best = load_checkpoint(best_pt_);
    best.model.net->to(device_);
    net = best.model.net;
  }
  const nlohmann::json& plain = selected ? record_.selected_test : record_.final_test;
  record_.tta_test = eval_json(evaluate_split(net, test_, "test (tta)", false, true), d_.desc.class_names);
  record_.tta_test["model"] = plain["model"];
  record_.tta_test["views"] = "the image and its 1-pixel shifts up, down, left and right; logits averaged";
  log::info(format("test-time augmentation (5 views): test accuracy %.2f%% of %s (without: %.2f%%); reported only, "
                   "never used to select",
                   100.0 * record_.tta_test["accuracy"].get<double>(), plain["model"].get<std::string>().c_str(),
                   100.0 * plain["accuracy"].get<double>()));
}

// Leaves report.json and train.log saying how the run ended, then lets the error go on to main(). A LibTorch
// out-of-memory error becomes a DeviceError (exit 6); any other non-dltrain exception is a bug (exit 1).
void Run::end_with_error() {
  std::exception_ptr error = std::current_exception();
  std::string status = "failed", message, hint;
  try {
    throw;
  } catch (const Error& e) {
    if (dynamic_cast<const Interrupted*>(&e) != nullptr) status = "interrupted";
    if (dynamic_cast<const TrainingDiverged*>(&e) != nullptr) status = "diverged";
    message = e.what();
    hint = e.hint();
  } catch (const c10::Error& e) {
    message = e.what_without_backtrace();
    hint = "this is a bug in dltrain; please report it with the command line";
    if (device::is_out_of_memory(e)) {
      error = std::make_exception_ptr(DeviceError("out of memory: " + message, device::kOutOfMemoryHint));
      message = "out of memory: " + message;
      hint = device::kOutOfMemoryHint;
    }
  } catch (const std::exception& e) {
    message = e.what();
    hint = "this is a bug in dltrain; please report it with the command line";
  } catch (...) {
    message = "unknown exception";
  }
  if (!run_dir_.empty() && leader()) {
    log::to_file("run ended (" + status + "): " + message + (hint.empty() ? "" : "; hint: " + hint), log::Level::kError);
    try {
      write_reports(status, {{"message", message}, {"hint", hint}});
    } catch (const std::exception&) {
      // The disk that failed the run may fail this too; the original error is the one to report.
    }
  }
  if (group_ && (status == "interrupted" || status == "diverged")) {
    // Every worker stops here at the same step: the others wait until rank 0 has written its files, so that a
    // launcher that ends all workers when one exits cannot cut rank 0's writes short.
    try {
      group_->barrier("the workers' common stop");
    } catch (const Error& e) {
      log::warn(e.what());
    }
  }
  log::set_file("");
  std::rethrow_exception(error);
}

// ---- helpers ----

// With all_workers in a data-parallel run, each worker evaluates its contiguous share of the split and the sums are
// added up: the result covers exactly the whole split. A stop request ends a single process's pass early; workers
// finish their shares (short) and agree on stopping afterwards (stop_agreed).
EvalResult Run::evaluate_split(torch::nn::Sequential& net, const data::Split& split, const std::string& name,
                               bool all_workers, bool tta) {
  log::debug("evaluating " + name + ": " + std::to_string(split.size()) + " images");
  const bool sharded = group_ && all_workers;
  const data::Split part = sharded ? data::shard(split, options_.world.rank, workers()) : split;
  const auto after_batch = [&](int64_t done, int64_t total) {
    progress_->show_eval(name, done, total);
    return sharded || !stop_requested();
  };
  const SumAcross across = [&](torch::Tensor& t) { sum_across(t, "the " + name + " evaluation's sums"); };
  const bool keep = name == "test" && leader();
  EvalResult r = evaluate(net, part, c_.eval.batch_size, *normalize_, d_.num_classes(), precision_, after_batch,
                          sharded ? across : SumAcross(), name == "test", tta);
  if (sharded && r.predictions.defined()) {  // every worker's predictions, in the split's order, for rank 0's mistakes
    for (torch::Tensor* t : {&r.predictions, &r.confidence}) {
      torch::Tensor whole = torch::zeros({split.size()}, t->options());
      whole.narrow(0, data::shard_begin(split.size(), options_.world.rank, workers()), t->size(0)).copy_(*t);
      sum_across(whole, "the " + name + " predictions");
      *t = whole;
    }
  }
  if (!keep) r.predictions = r.confidence = torch::Tensor();
  progress_->clear();
  return r;
}

// A test evaluation's numbers into `into` (final_test or selected_test), and its most confident mistakes.
void Run::record_test(const EvalResult& t, nlohmann::json& into, const std::string& model) {
  into = eval_json(t, d_.desc.class_names);
  into["model"] = model;
  if (!t.predictions.defined()) return;
  record_.mistakes = {{"model", model},
                      {"images", top_mistakes(t.predictions, t.confidence, test_, d_.desc.class_names, kMistakesShown)}};
}

// Whether to stop now: this process's signal flag, or whether any worker has one (a collective).
bool Run::stop_agreed() {
  if (!group_) return stop_requested();
  return group_->any(stop_requested() || (sync_ && sync_->stop_voted()), "agreeing on a stop");
}

void Run::sum_across(torch::Tensor& t, const std::string& what) {
  if (group_) group_->all_reduce(t, what);
}

// The epoch's running loss and correct counts over all workers (each worker adds loss / workers).
EpochCursor Run::global_sums(const EpochCursor& e) {
  EpochCursor sums = e;
  if (!group_) return sums;
  sums.loss_sum = e.loss_sum.clone();
  sums.correct = e.correct.clone();
  sum_across(sums.loss_sum, "the training sums");
  sum_across(sums.correct, "the training sums");
  return sums;
}

// BatchNorm running statistics: each worker's come from its own slices of the batches; at every evaluation and
// checkpoint they become the workers' mean, so that the saved model is the one that was evaluated.
void Run::average_buffers() {
  if (!group_) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> buffers = m_.net->buffers();
  if (ema_) {  // the moving average's copies of them, too
    for (const torch::Tensor& t : ema_->net()->buffers()) buffers.push_back(t);
  }
  for (torch::Tensor t : buffers) {
    if (!t.is_floating_point()) continue;  // num_batches_tracked: equal on every worker
    sum_across(t, "the BatchNorm statistics' average");
    t.div_(workers());
  }
}

// Stops the run when a training loss so far was NaN or Inf, naming the first such step. Called at log lines, before
// every checkpoint write (so that no checkpoint holds the weights such a step produced) and at the end of an epoch.
void Run::check_finite() const {
  const int64_t bad = watch_->first_bad_step();
  if (bad == 0) return;
  throw TrainingDiverged(format("training loss became NaN or Inf at step %lld (epoch %lld)", static_cast<long long>(bad),
                                static_cast<long long>((bad - 1) / steps_per_epoch_ + 1)),
                         "lower train.optimizer.lr, set train.grad_clip (e.g. 1.0), or check the data; checkpoints "
                         "saved before it (if any) are intact in " + (run_dir_ / "checkpoints").string());
}

// A checkpoint at the end of epoch record_.history.size(), or in the middle of the next one (`cursor`).
// In a data-parallel run every worker calls it (the sums and BatchNorm statistics are collected) and rank 0 writes.
void Run::save(const std::filesystem::path& path, const EpochCursor* cursor, double epoch_seconds) {
  check_finite();
  const EpochCursor sums = cursor != nullptr ? global_sums(*cursor) : EpochCursor{};
  if (cursor != nullptr) average_buffers();
  if (!leader()) return;
  touch_segment("running");
  CheckpointMeta meta = checkpoint_meta(record_);
  if (cursor != nullptr) {
    meta.batch = cursor->next_batch;
    meta.order = cursor->order;
    meta.loss_sum = sums.loss_sum;
    meta.correct = sums.correct;
    meta.epoch_seconds = epoch_seconds;
  }
  capture_rng(meta, device_);
  if (steps_->scaler() != nullptr) meta.loss_scale = steps_->scaler()->state();
  // train.ema: best.pt holds the selected weights (eval, predict and export use them as they are); last.pt holds the
  // trained weights and, for resuming, their moving average.
  const bool average_is_best = path == best_pt_ && record_.selection.weights == "ema";
  if (ema_) meta.info["weights"] = average_is_best ? "ema" : "trained";
  save_checkpoint(path, meta, average_is_best ? *ema_->net() : *m_.net, *optimizer_,
                  ema_ && path == last_pt_ ? &*ema_->net() : nullptr);
}

void Run::write_reports(const std::string& status, const nlohmann::json& error) {
  if (!leader()) return;
  touch_segment(status);
  if (sync_) {
    record_.distributed["allreduce"] = {{"seconds", sync_->seconds()}, {"calls", sync_->calls()},
                                        {"buckets", sync_->buckets()}};
  }
  record_.monitor = sampler_ ? sampler_->report() : nlohmann::json(nullptr);
  record_.peak_rss_mib = device::peak_rss_mib();
  record_.timings.report_s = logs_ ? logs_->seconds() : 0.0;
  report::write_metrics_csv(run_dir_ / "metrics.csv", record_.history);
  const nlohmann::json report = report::run_report_json(record_, status, error);
  report::write_json(run_dir_ / "report.json", report);
  if (logs_) logs_->render(report);
}

void Run::touch_segment(const std::string& how) {
  report::Segment& s = record_.segments.back();
  s.ended_utc = report::utc_now();
  s.how = how;
  s.last_step = record_.step;
  s.seconds = seconds_since(start_);
}

void Run::log_epoch(const report::EpochRecord& r, bool improved) const {
  std::string line = format("epoch %lld/%lld  train loss %.4f acc %.2f%%", static_cast<long long>(r.epoch),
                            static_cast<long long>(c_.train.epochs), r.train_loss, 100.0 * r.train_accuracy);
  if (std::isfinite(r.val_accuracy)) line += format("  val loss %.4f acc %.2f%%", r.val_loss, 100.0 * r.val_accuracy);
  if (std::isfinite(r.test_accuracy)) line += format("  test loss %.4f acc %.2f%%", r.test_loss, 100.0 * r.test_accuracy);
  if (std::isfinite(r.ema_val_accuracy)) line += format("  ema val %.2f%%", 100.0 * r.ema_val_accuracy);
  if (std::isfinite(r.ema_test_accuracy)) line += format("  ema test %.2f%%", 100.0 * r.ema_test_accuracy);
  line += format("  lr %.3g  %.1f s  %.0f img/s%s", r.lr, r.train_seconds, r.images_per_second, improved ? "  *best" : "");
  log::info(line);
}

void Run::print_summary(const RunResult& result) const {
  const nlohmann::json& test = result.result_model == "best.pt" ? record_.selected_test : record_.final_test;
  const std::string whose =
      result.result_model == "best.pt"
          ? format("best.pt, epoch %lld%s, chosen by val accuracy %.2f%%", static_cast<long long>(result.result_epoch),
                   record_.selection.weights == "ema" ? " (moving average)" : "", 100.0 * record_.selection.value)
          : format("the final model, epoch %lld; no validation split, so no selection",
                   static_cast<long long>(result.result_epoch));
  log::info(format("done: test accuracy %.2f%% ± %.2f%% (loss %.4f) of %s", 100.0 * result.test_accuracy,
                   100.0 * test["accuracy_stderr"].get<double>(), test["loss"].get<double>(), whose.c_str()));
  const report::Timings& t = record_.timings;
  const nlohmann::json steps = report::step_time_summary(t.step_seconds);
  log::info(format("%lld epoch(s), %s training, %s total; %.0f img/s; peak RSS %.0f MiB",
                   static_cast<long long>(result.epochs_run), report::format_duration(t.train_s).c_str(),
                   report::format_duration(seconds_since(start_)).c_str(), record_.history.back().images_per_second,
                   record_.peak_rss_mib));
  log::info(format("timings: data load %.2f s, first step %.3f s, steps %.2f ms median / %.2f ms p95, eval %.2f s, "
                   "checkpoints %.2f s",
                   t.data_load_s, t.first_step_s, steps.is_null() ? kNaN : steps["median_ms"].get<double>(),
                   steps.is_null() ? kNaN : steps["p95_ms"].get<double>(), t.eval_s, t.checkpoint_s));
  const std::string monitor = sampler_->summary_line();
  if (!monitor.empty()) log::info(monitor);
  log::info("reports: " + (run_dir_ / "report.json").string() + ", metrics.csv; checkpoints: " +
            (run_dir_ / "checkpoints").string() + (result.result_model == "best.pt" ? "/{best,last}.pt" : "/last.pt"));
}

}  // namespace

RunResult run_training(const config::Config& config, const RunOptions& options) { return Run(config, options).run(); }

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
