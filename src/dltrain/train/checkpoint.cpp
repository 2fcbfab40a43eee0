// Checkpoint files: a torch::serialize archive with our own magic, format version and metadata.
#include "dltrain/train/checkpoint.hpp"

#include <optional>
#include <sstream>

#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/train/precision.hpp"

namespace dltrain::train {
namespace {

std::string read_string(torch::serialize::InputArchive& archive, const std::string& key) {
  c10::IValue value;
  if (!archive.try_read(key, value) || !value.isString()) return {};
  return value.toStringRef();
}

// Optional keys: absent in format 1 files and in checkpoints taken at an epoch boundary.
template <class T>
void read_optional(torch::serialize::InputArchive& archive, const std::string& key, T& out) {
  c10::IValue value;
  if (!archive.try_read(key, value)) return;
  if constexpr (std::is_same_v<T, int64_t>) out = value.toInt();
  if constexpr (std::is_same_v<T, double>) out = value.toDouble();
}
void read_optional(torch::serialize::InputArchive& archive, const std::string& key, torch::Tensor& out) {
  torch::Tensor value;
  if (archive.try_read(key, value)) out = value;
}

void write_tensor_if_defined(torch::serialize::OutputArchive& archive, const std::string& key, const torch::Tensor& t) {
  if (t.defined()) archive.write(key, t.cpu());
}

// Opens `path` and checks that it is a dltrain checkpoint of a format this build reads. Every tensor is loaded
// to the CPU: the generator states must be CPU byte tensors, and callers move the rest where it belongs.
void open_archive(const std::filesystem::path& path, torch::serialize::InputArchive& archive) {
  if (!std::filesystem::is_regular_file(path)) {
    throw CheckpointError(path.string() + ": checkpoint not found",
                          "checkpoints are in <run dir>/checkpoints/best.pt and last.pt");
  }
  try {
    archive.load_from(path.string(), torch::kCPU);
  } catch (const c10::Error& e) {
    throw CheckpointError(path.string() + ": not a readable checkpoint (truncated or not a dltrain file): " +
                              e.what_without_backtrace(),
                          "use a complete last.pt or best.pt written by `dltrain train`");
  }
  if (read_string(archive, "magic") != kCheckpointMagic) {
    throw CheckpointError(path.string() + ": not a dltrain checkpoint (no dltrain magic)",
                          "dltrain reads only checkpoints written by `dltrain train`");
  }
  c10::IValue value;
  if (!archive.try_read("format_version", value) || !value.isInt()) {
    throw CheckpointError(path.string() + ": damaged checkpoint (no format version)", "use another checkpoint");
  }
  if (value.toInt() > kCheckpointFormat) {
    throw CheckpointError(path.string() + ": checkpoint format " + std::to_string(value.toInt()) +
                              " is newer than this dltrain reads (" + std::to_string(kCheckpointFormat) + ")",
                          "use the dltrain version that wrote it (" + read_string(archive, "dltrain_version") + ") or newer");
  }
}

CheckpointMeta read_meta(torch::serialize::InputArchive& archive, const std::filesystem::path& path) {
  CheckpointMeta meta;
  try {
    c10::IValue value;
    archive.read("epoch", value);
    meta.epoch = value.toInt();
    archive.read("step", value);
    meta.step = value.toInt();
    archive.read("best_metric", value);
    meta.best_metric = value.toDouble();
    meta.config = nlohmann::json::parse(read_string(archive, "config"));
    meta.info = nlohmann::json::parse(read_string(archive, "info"));
    const std::string history = read_string(archive, "history");
    if (!history.empty()) meta.history = nlohmann::json::parse(history);
    const std::string segments = read_string(archive, "segments");
    if (!segments.empty()) meta.segments = nlohmann::json::parse(segments);
    read_optional(archive, "batch", meta.batch);
    read_optional(archive, "epoch_seconds", meta.epoch_seconds);
    read_optional(archive, "best_epoch", meta.best_epoch);
    read_optional(archive, "epochs_without_improvement", meta.epochs_without_improvement);
    read_optional(archive, "order", meta.order);
    read_optional(archive, "loss_sum", meta.loss_sum);
    read_optional(archive, "correct", meta.correct);
    read_optional(archive, "cpu_rng", meta.cpu_rng);
    read_optional(archive, "cuda_rng", meta.cuda_rng);
    read_optional(archive, "loss_scale", meta.loss_scale);
    if (const std::string weights = read_string(archive, "best_weights"); !weights.empty()) meta.best_weights = weights;
  } catch (const std::exception& e) {
    throw CheckpointError(path.string() + ": damaged checkpoint metadata: " + e.what(), "use another checkpoint");
  }
  return meta;
}

// Module::load replaces tensors without comparing shapes, so compare them ourselves. It also re-points a parameter
// that lives on another device than the archive's at the loaded CPU tensor, so the model is moved back to its
// device afterwards (in place: the optimizer's references to the parameters stay valid).
void load_weights(torch::serialize::InputArchive& archive, const std::filesystem::path& path, torch::nn::Module& net,
                  const char* key = "model") {
  try {
    torch::serialize::InputArchive model_archive;
    archive.read(key, model_archive);
    std::vector<std::vector<int64_t>> expected;
    for (const auto& p : net.parameters()) expected.push_back(p.sizes().vec());
    const auto params = net.parameters();
    const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
    net.load(model_archive);
    net.to(device);
    const auto loaded = net.parameters();
    for (size_t i = 0; i < loaded.size(); ++i) {
      if (loaded[i].sizes().vec() != expected[i]) {
        throw CheckpointError(path.string() + ": the weights do not fit the model in its config (parameter " +
                                  std::to_string(i) + " has shape " + c10::str(loaded[i].sizes()) + ", the model needs " +
                                  c10::str(c10::IntArrayRef(expected[i])) + ")",
                              "the checkpoint was written for another architecture; use the config it was trained with");
      }
    }
  } catch (const c10::Error& e) {
    throw CheckpointError(path.string() + ": the weights do not fit the model: " + e.what_without_backtrace(),
                          "the checkpoint was written for another architecture, or it is damaged");
  }
}

}  // namespace

CheckpointMeta checkpoint_meta(const report::RunRecord& record) {
  CheckpointMeta meta;
  meta.epoch = static_cast<int64_t>(record.history.size());
  meta.step = record.step;
  meta.best_metric = record.selection.value;
  meta.best_epoch = record.selection.epoch;
  meta.epochs_without_improvement = record.selection.evals_without_improvement;
  meta.best_weights = record.selection.weights;
  meta.config = record.config;
  meta.info = {{"dataset", record.dataset["name"]},
               {"data_root", record.dataset["root"]},
               {"num_classes", record.dataset["classes"].size()},
               {"input_shape", record.model["input_shape"]},
               {"metrics", record.history.empty() ? nlohmann::json(nullptr) : report::to_json(record.history.back())}};
  if (record.dataset.is_object() && record.dataset.contains("mean")) {  // the run's description (loop.cpp dataset_json)
    meta.info["data"] = data::to_json(data::description_from_json(record.dataset));
  }
  for (const auto& r : record.history) meta.history.push_back(report::to_json(r));
  meta.segments = report::to_json(record.segments);
  return meta;
}

void restore_record(const CheckpointMeta& meta, report::RunRecord& record) {
  for (const auto& j : meta.history) record.history.push_back(report::epoch_record_from_json(j));
  for (const auto& r : record.history) {
    record.timings.train_s += r.train_seconds;
    record.timings.eval_s += r.eval_seconds;
  }
  record.step = meta.step;
  record.selection.value = meta.best_metric;
  record.selection.epoch = meta.best_epoch;
  record.selection.evals_without_improvement = meta.epochs_without_improvement;
  record.selection.weights = meta.best_weights;
  record.segments = report::segments_from_json(meta.segments);
}

void save_checkpoint(const std::filesystem::path& path, const CheckpointMeta& meta, torch::nn::Module& net,
                     const torch::optim::Optimizer& optimizer, torch::nn::Module* average) {
  torch::serialize::OutputArchive archive;
  archive.write("magic", c10::IValue(std::string(kCheckpointMagic)));
  archive.write("format_version", c10::IValue(kCheckpointFormat));
  archive.write("dltrain_version", c10::IValue(std::string(DLTRAIN_VERSION)));
  archive.write("epoch", c10::IValue(meta.epoch));
  archive.write("step", c10::IValue(meta.step));
  archive.write("best_metric", c10::IValue(meta.best_metric));
  archive.write("config", c10::IValue(meta.config.dump()));
  archive.write("info", c10::IValue(meta.info.dump()));
  archive.write("history", c10::IValue(meta.history.dump()));
  archive.write("segments", c10::IValue(meta.segments.dump()));
  archive.write("batch", c10::IValue(meta.batch));
  archive.write("epoch_seconds", c10::IValue(meta.epoch_seconds));
  archive.write("best_epoch", c10::IValue(meta.best_epoch));
  archive.write("epochs_without_improvement", c10::IValue(meta.epochs_without_improvement));
  archive.write("best_weights", c10::IValue(meta.best_weights));
  write_tensor_if_defined(archive, "order", meta.order);
  write_tensor_if_defined(archive, "loss_sum", meta.loss_sum);
  write_tensor_if_defined(archive, "correct", meta.correct);
  write_tensor_if_defined(archive, "cpu_rng", meta.cpu_rng);
  write_tensor_if_defined(archive, "cuda_rng", meta.cuda_rng);
  write_tensor_if_defined(archive, "loss_scale", meta.loss_scale);
  torch::serialize::OutputArchive model_archive;
  net.save(model_archive);
  archive.write("model", model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  if (average != nullptr) {
    torch::serialize::OutputArchive average_archive;
    average->save(average_archive);
    archive.write("ema", average_archive);
  }
  // Serialised in memory first: LibTorch's file writer throws from its destructor when the disk is
  // full, which terminates the process. Our own write reports the error and leaves the old file intact.
  std::ostringstream bytes;
  archive.save_to(bytes);
  fs::atomic_write(path, bytes.str());
}

CheckpointMeta restore_checkpoint(const std::filesystem::path& path, torch::nn::Module& net,
                                  torch::optim::Optimizer& optimizer, torch::nn::Module* average) {
  torch::serialize::InputArchive archive;
  open_archive(path, archive);
  CheckpointMeta meta = read_meta(archive, path);
  load_weights(archive, path, net);
  c10::IValue format;
  archive.read("format_version", format);
  if (format.toInt() < kCheckpointFormat) {
    throw CheckpointError(path.string() + ": format " + std::to_string(format.toInt()) +
                              " holds LibTorch's optimizer state, which this dltrain cannot resume from",
                          "evaluate it with `dltrain eval`, or start a new run");
  }
  try {
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
  } catch (const c10::Error& e) {
    throw CheckpointError(path.string() + ": the optimizer state does not fit: " + e.what_without_backtrace(),
                          "resume with the optimizer the run was started with (train.optimizer.name)");
  }
  if (average != nullptr) {
    torch::serialize::InputArchive unused;
    if (!archive.try_read("ema", unused)) {
      throw CheckpointError(path.string() + ": no moving average of the weights (train.ema) in the checkpoint",
                            "resume with the config the run was started with");
    }
    load_weights(archive, path, *average, "ema");
  }
  return meta;
}

void capture_rng(CheckpointMeta& meta, const torch::Device& device) {
  meta.cpu_rng = at::detail::getDefaultCPUGenerator().get_state();
  if (device.is_cuda()) meta.cuda_rng = at::globalContext().defaultGenerator(device).get_state();
}

void restore_rng(const CheckpointMeta& meta, at::Generator cpu, std::optional<at::Generator> accelerator) {
  // Generator::set_state takes a CPU byte tensor, whatever the generator's device.
  if (meta.cpu_rng.defined()) cpu.set_state(meta.cpu_rng.to(torch::kCPU));
  if (meta.cuda_rng.defined() && accelerator) accelerator->set_state(meta.cuda_rng.to(torch::kCPU));
}

void restore_rng(const CheckpointMeta& meta, const torch::Device& device) {
  restore_rng(meta, at::detail::getDefaultCPUGenerator(),
              device.is_cuda() ? std::optional<at::Generator>(at::globalContext().defaultGenerator(device))
                               : std::nullopt);
}

CheckpointMeta read_checkpoint_meta(const std::filesystem::path& path) {
  torch::serialize::InputArchive archive;
  open_archive(path, archive);
  return read_meta(archive, path);
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& path) {
  torch::serialize::InputArchive archive;
  open_archive(path, archive);
  LoadedCheckpoint out;
  out.meta = read_meta(archive, path);
  out.config = config::parse(out.meta.config, path.string() + " (embedded config)");
  try {
    out.model = model::build(out.config.model, out.meta.info.at("input_shape").get<std::vector<int64_t>>(),
                             out.meta.info.at("num_classes").get<int64_t>());
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(path.string() + ": damaged checkpoint metadata: " + e.what(), "use another checkpoint");
  }
  out.model.net->to(parameter_dtype(out.config.train.precision));  // fp64 runs keep double weights
  load_weights(archive, path, *out.model.net);
  try {
    out.data = trained_on(out.meta, out.config);
  } catch (const Error& e) {
    throw CheckpointError(path.string() + ": " + e.what(), "use a checkpoint written by `dltrain train`");
  }
  return out;
}

data::Description trained_on(const CheckpointMeta& meta, const config::Config& config) {
  if (meta.info.contains("data")) return data::description_from_json(meta.info["data"]);
  const data::Description table = data::describe(data::dataset_info(meta.info.value("dataset", config.data.dataset)));
  if (table.mean.empty()) {
    throw CheckpointError("the checkpoint does not say what it was trained on (no info.data) and the dataset table has "
                          "no statistics for " + table.name);
  }
  return table;
}

}  // namespace dltrain::train
