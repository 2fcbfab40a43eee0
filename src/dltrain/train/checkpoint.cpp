// Checkpoint files: a torch::serialize archive with our own magic, format version and metadata.
#include "dltrain/train/checkpoint.hpp"

#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"

namespace dltrain::train {
namespace {

std::string read_string(torch::serialize::InputArchive& archive, const std::string& key) {
  c10::IValue value;
  if (!archive.try_read(key, value) || !value.isString()) return {};
  return value.toStringRef();
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const CheckpointMeta& meta, torch::nn::Module& net,
                     const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write("magic", c10::IValue(std::string(kCheckpointMagic)));
  archive.write("format_version", c10::IValue(kCheckpointFormat));
  archive.write("dltrain_version", c10::IValue(std::string(DLTRAIN_VERSION)));
  archive.write("epoch", c10::IValue(meta.epoch));
  archive.write("step", c10::IValue(meta.step));
  archive.write("best_metric", c10::IValue(meta.best_metric));
  archive.write("config", c10::IValue(meta.config.dump()));
  archive.write("info", c10::IValue(meta.info.dump()));
  torch::serialize::OutputArchive model_archive;
  net.save(model_archive);
  archive.write("model", model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  fs::atomic_write_with(path, [&](const std::filesystem::path& tmp) { archive.save_to(tmp.string()); });
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw CheckpointError(path.string() + ": checkpoint not found",
                          "checkpoints are in <run dir>/checkpoints/best.pt and last.pt");
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
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
  archive.read("format_version", value);
  if (value.toInt() > kCheckpointFormat) {
    throw CheckpointError(path.string() + ": checkpoint format " + std::to_string(value.toInt()) +
                              " is newer than this dltrain reads (" + std::to_string(kCheckpointFormat) + ")",
                          "use the dltrain version that wrote it (" + read_string(archive, "dltrain_version") + ") or newer");
  }
  LoadedCheckpoint out;
  try {
    archive.read("epoch", value);
    out.meta.epoch = value.toInt();
    archive.read("step", value);
    out.meta.step = value.toInt();
    archive.read("best_metric", value);
    out.meta.best_metric = value.toDouble();
    out.meta.config = nlohmann::json::parse(read_string(archive, "config"));
    out.meta.info = nlohmann::json::parse(read_string(archive, "info"));
  } catch (const std::exception& e) {
    throw CheckpointError(path.string() + ": damaged checkpoint metadata: " + e.what(), "use another checkpoint");
  }
  out.config = config::from_json(out.meta.config, path.string() + " (embedded config)");
  out.model = model::build(out.config.model, out.meta.info.at("input_shape").get<std::vector<int64_t>>(),
                           out.meta.info.at("num_classes").get<int64_t>());
  try {
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    // Module::load replaces tensors without comparing shapes, so compare them ourselves.
    std::vector<std::vector<int64_t>> expected;
    for (const auto& p : out.model.net->parameters()) expected.push_back(p.sizes().vec());
    out.model.net->load(model_archive);
    const auto loaded = out.model.net->parameters();
    for (size_t i = 0; i < loaded.size(); ++i) {
      if (loaded[i].sizes().vec() != expected[i]) {
        throw CheckpointError(path.string() + ": the weights do not fit the model in its config (parameter " +
                                  std::to_string(i) + " has shape " + c10::str(loaded[i].sizes()) + ", the model needs " +
                                  c10::str(c10::IntArrayRef(expected[i])) + ")",
                              "the checkpoint was written for another architecture; use the config it was trained with");
      }
    }
  } catch (const c10::Error& e) {
    throw CheckpointError(path.string() + ": the weights do not fit the model in its config: " + e.what_without_backtrace(),
                          "the checkpoint is damaged or was edited; use another checkpoint");
  }
  return out;
}

}  // namespace dltrain::train
