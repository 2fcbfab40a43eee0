// `dltrain eval`: score a checkpoint on a split; the model is rebuilt from the checkpoint alone.
#include <iostream>

#include "commands/commands.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/data/batches.hpp"
#include "dltrain/data/image_folder.hpp"
#include "dltrain/predict/predict.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/evaluate.hpp"

namespace dltrain::app {
namespace {

struct EvalOptions {
  std::string checkpoint;
  std::string split = "test";
  std::string data_dir;
  std::string image_folder;  // instead of the run's data: a folder of class subfolders named as the model's classes
  std::string device;
  int64_t threads = -1;
  int64_t batch_size = 0;
  bool json = false;
  double fail_under = -1.0;
};

// The images of `split` as the run saw them: test; train (the images it trained on: data.limit_train, without the
// validation hold-out); val (the hold-out). The data is found as the run found it, unless --data-dir says otherwise.
// With --image-folder, that folder's images instead, brought to the model's input shape.
data::Split load_eval_split(const train::LoadedCheckpoint& ckpt, const EvalOptions& o, std::filesystem::path& root) {
  if (!o.image_folder.empty()) {
    root = o.image_folder;
    return data::read_labelled_folder(root, ckpt.data.class_names, ckpt.data.image_shape);
  }
  config::DataConfig data = ckpt.config.data;
  if (!o.data_dir.empty()) data.root = o.data_dir;
  const std::filesystem::path remembered = ckpt.meta.info.value("data_root", std::string());
  if (o.split == "test") return data::load_test_split(data, remembered, ckpt.data.class_names, root);
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
  const data::Description& trained = ready.data();
  const std::string split_name = o.image_folder.empty() ? o.split : "image_folder";
  std::filesystem::path root;
  const data::Split split = data::to_device(load_eval_split(ckpt, o, root), device);
  const int64_t batch_size = o.batch_size > 0 ? o.batch_size : c.eval.batch_size;
  const train::Precision precision = c.train.precision;
  train::check_precision(precision, device);
  train::set_math_mode(precision);  // e.g. TF32 on or off, as in training
  const train::EvalResult r =
      train::evaluate(ckpt.model.net, split, batch_size, data::Normalizer(trained, train::parameter_dtype(precision)),
                      trained.num_classes(), precision);
  if (o.json) {
    nlohmann::json out = train::eval_json(r, trained.class_names);
    out["checkpoint"] = o.checkpoint;
    out["epoch"] = ckpt.meta.epoch;  // epochs completed when it was saved
    out["step"] = ckpt.meta.step;    // optimizer steps completed when it was saved
    out["split"] = split_name;
    out["dataset"] = trained.name;
    out["root"] = root.string();
    std::cout << out.dump(2) << std::endl;
  } else {
    std::cout << o.checkpoint << " (epoch " << ckpt.meta.epoch << ") on " << trained.name << " " << split_name << " ("
              << root.string() << "):\n"
              << train::eval_text(r, trained.class_names);
  }
  return fail_under_gate(r.accuracy, o.fail_under, "accuracy on " + split_name);
}

}  // namespace

Command register_eval(CLI::App& parent) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* app = parent.add_subcommand("eval", "Evaluate a checkpoint: accuracy, loss, per-class accuracy, confusion matrix");
  app->add_option("--checkpoint", o->checkpoint, "Checkpoint file, e.g. runs/mnist_cnn/checkpoints/best.pt")->required();
  auto* split = app->add_option("--split", o->split,
                                "test; val (the run's validation hold-out); train (the images the run trained on)")
                    ->check(CLI::IsMember({"test", "val", "train"}));
  auto* data_dir = app->add_option("--data-dir", o->data_dir,
                                   "Folder holding the dataset's files (image_folder: its data.root; default: as when "
                                   "trained)");
  app->add_option("--image-folder", o->image_folder,
                  "Evaluate on this folder instead: one subfolder of images (PNG, PGM/PPM) per class, named as the "
                  "model's classes; each image is brought to the model's input as `predict` brings it (never inverted)")
      ->excludes(split)
      ->excludes(data_dir);
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
