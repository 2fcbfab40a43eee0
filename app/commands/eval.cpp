// `dltrain eval`: score a checkpoint on a split; the model is rebuilt from the checkpoint alone.
#include <iostream>

#include "commands/commands.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/data/batches.hpp"
#include "dltrain/predict/predict.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/evaluate.hpp"

namespace dltrain::app {
namespace {

struct EvalOptions {
  std::string checkpoint;
  std::string split = "test";
  std::string data_dir;
  std::string device;
  int64_t threads = -1;
  int64_t batch_size = 0;
  bool json = false;
  double fail_under = -1.0;
};

// The images of `split` as the run saw them: test; train (the images it trained on: data.limit_train, without the
// validation hold-out); val (the hold-out). The data is found as the run found it, unless --data-dir says otherwise.
data::Split load_eval_split(const train::LoadedCheckpoint& ckpt, const EvalOptions& o, std::filesystem::path& root) {
  config::DataConfig data = ckpt.config.data;
  if (!o.data_dir.empty()) data.root = o.data_dir;
  const std::filesystem::path remembered = ckpt.meta.info.value("data_root", std::string());
  const data::DatasetInfo& info = data::dataset_info(data.dataset);
  if (o.split == "test") {
    root = data::locate_root(info, data.root, remembered);
    return data::load_split(info, root, "test");
  }
  const data::Dataset d = data::load_dataset(data, remembered);
  root = d.root;
  if (o.split == "val" && d.val.size() == 0) {
    throw UsageError(o.checkpoint + ": the run had no validation split (data.val_split is 0)",
                     "evaluate --split test or --split train");
  }
  return o.split == "val" ? d.val : d.train;
}

int run_eval(const EvalOptions& o) {
  predict::Ready ready = predict::load_for_inference(o.checkpoint, o.device, o.threads);
  train::LoadedCheckpoint& ckpt = ready.checkpoint;
  const config::Config& c = ckpt.config;
  const torch::Device device = ready.device;
  const data::DatasetInfo& info = *ready.dataset;
  std::filesystem::path root;
  const data::Split split = data::to_device(load_eval_split(ckpt, o, root), device);
  const int64_t batch_size = o.batch_size > 0 ? o.batch_size : c.eval.batch_size;
  const train::Precision precision = c.train.precision;
  train::check_precision(precision, device);
  train::set_math_mode(precision);  // e.g. TF32 on or off, as in training
  const train::EvalResult r =
      train::evaluate(ckpt.model.net, split, batch_size, data::Normalizer{info.mean, info.std, train::parameter_dtype(precision)},
                      static_cast<int64_t>(info.class_names.size()), precision);
  if (o.json) {
    nlohmann::json out = train::eval_json(r, info.class_names);
    out["checkpoint"] = o.checkpoint;
    out["epoch"] = ckpt.meta.epoch;  // epochs completed when it was saved
    out["step"] = ckpt.meta.step;    // optimizer steps completed when it was saved
    out["split"] = o.split;
    out["dataset"] = info.name;
    std::cout << out.dump(2) << std::endl;
  } else {
    std::cout << o.checkpoint << " (epoch " << ckpt.meta.epoch << ") on " << info.name << " " << o.split << " ("
              << root.string() << "):\n"
              << train::eval_text(r, info.class_names);
  }
  return fail_under_gate(r.accuracy, o.fail_under, "accuracy on " + o.split);
}

}  // namespace

Command register_eval(CLI::App& parent) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* app = parent.add_subcommand("eval", "Evaluate a checkpoint: accuracy, loss, per-class accuracy, confusion matrix");
  app->add_option("--checkpoint", o->checkpoint, "Checkpoint file, e.g. runs/mnist_cnn/checkpoints/best.pt")->required();
  app->add_option("--split", o->split,
                  "test; val (the run's validation hold-out); train (the images the run trained on)")
      ->check(CLI::IsMember({"test", "val", "train"}));
  app->add_option("--data-dir", o->data_dir, "Folder holding the dataset's IDX files (default: as when trained)");
  app->add_option("--device", o->device, "auto, cpu, cuda or cuda:N (default: as when trained)");
  app->add_option("--threads", o->threads, "CPU threads; 0 = all available cores (default: as when trained)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--batch-size", o->batch_size, "Evaluation batch size (default: eval.batch_size of the run)");
  app->add_flag("--json", o->json, "Print one JSON object instead of text");
  app->add_option("--fail-under", o->fail_under,
                  "Exit 11 when the accuracy (a fraction, e.g. 0.99) is below this, after printing: a CI gate")
      ->check(CLI::Range(0.0, 1.0));
  return {app, [o] { return run_eval(*o); }};
}

}  // namespace dltrain::app
