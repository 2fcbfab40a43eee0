// `dltrain predict`: a checkpoint's top-k classes for images from files (PNG, PGM/PPM, IDX) or stdin.
#include <chrono>
#include <iostream>

#include "commands/commands.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/data/datasets.hpp"
#include "dltrain/data/idx.hpp"
#include "dltrain/predict/images.hpp"
#include "dltrain/predict/predict.hpp"

namespace dltrain::app {
namespace {

struct PredictOptions {
  std::string checkpoint;
  std::vector<std::string> inputs;
  int64_t top_k = 3;
  bool json = false, csv = false, logits = false;
  std::string device, invert = "auto", labels;
  int64_t threads = -1, batch_size = 0;
};

// One prepared image: where it came from.
struct Source {
  std::string input;
  int64_t index = 0;  // within its input (IDX files hold many)
  bool inverted = false;
  bool many = false;  // its input holds several images: the text output shows the index
};

// The top-k classes of every image at once (softmax and topk over the whole batch), read through accessors.
struct Ranked {
  torch::Tensor probability, klass, logits;  // [N, k], [N, k], [N, classes]; CPU
};

void print_one(const PredictOptions& o, const Source& s, const Ranked& r, int64_t i, const std::vector<std::string>& names) {
  const auto top = r.probability.accessor<float, 2>()[i];
  const auto classes = r.klass.accessor<int64_t, 2>()[i];
  const int64_t k = r.probability.size(1);
  if (o.json) {
    nlohmann::json out = {{"input", s.input}, {"index", s.index}, {"inverted", s.inverted}, {"top", nlohmann::json::array()}};
    for (int64_t j = 0; j < k; ++j) {
      out["top"].push_back({{"class", classes[j]}, {"name", names.at(static_cast<size_t>(classes[j]))}, {"probability", top[j]}});
    }
    if (o.logits) {
      const float* row = r.logits.data_ptr<float>() + i * r.logits.size(1);
      out["logits"] = std::vector<float>(row, row + r.logits.size(1));
    }
    std::cout << out.dump() << "\n";
    return;
  }
  std::string line = o.csv ? "" : s.input + (s.many ? "[" + std::to_string(s.index) + "]" : "") + (s.inverted ? " (inverted)" : "");
  for (int64_t j = 0; j < k; ++j) {
    const std::string& name = names.at(static_cast<size_t>(classes[j]));
    if (o.csv) {
      std::cout << s.input << "," << s.index << "," << (s.inverted ? 1 : 0) << "," << j + 1 << "," << classes[j] << ","
                << name << "," << format("%.6g", static_cast<double>(top[j])) << "\n";
    } else {
      line += format("  %s %.2f%%", name.c_str(), 100.0 * top[j]);
    }
  }
  if (!o.csv) std::cout << line << "\n";
}

// Whether --invert auto may invert: a model trained on gray images whose mean pixel is dark (light digits on a dark
// background, as the MNIST family). Colour photographs and light-background images are never inverted by guess.
bool light_on_dark(const data::Description& d) { return d.image_shape.at(0) == 1 && d.mean.at(0) < 0.5; }

int run_predict(const PredictOptions& o) {
  predict::Ready ready = predict::load_for_inference(o.checkpoint, o.device, o.threads);
  const config::Config& c = ready.checkpoint.config;
  const torch::Device device = ready.device;
  const data::Description& info = ready.data();
  const predict::Invert invert = o.invert == "yes" ? predict::Invert::kYes
                                 : o.invert == "no"  ? predict::Invert::kNo
                                 : light_on_dark(info) ? predict::Invert::kAuto
                                                       : predict::Invert::kNo;
  std::vector<torch::Tensor> prepared;
  std::vector<Source> sources;
  int failures = 0;
  for (const std::string& path : o.inputs) {
    try {
      std::vector<bool> inverted;
      prepared.push_back(predict::prepare(predict::read_input(path).pixels, info.image_shape, invert, &inverted));
      for (size_t i = 0; i < inverted.size(); ++i) {
        sources.push_back({path, static_cast<int64_t>(i), inverted[i], inverted.size() > 1});
      }
    } catch (const Error& e) {
      ++failures;
      log::error(e.what() + (e.hint().empty() ? std::string() : "; hint: " + e.hint()));
    }
  }
  if (o.csv) std::cout << "input,index,inverted,rank,class,name,probability\n";
  if (prepared.empty()) return failures > 0 ? kExitData : kExitOk;
  const torch::Tensor images = torch::cat(prepared);
  const auto start = std::chrono::steady_clock::now();
  train::set_math_mode(c.train.precision);
  const torch::Tensor logits = predict::logits(
      ready.checkpoint.model.net, images, o.batch_size > 0 ? o.batch_size : c.eval.batch_size,
      data::Normalizer(info, train::parameter_dtype(c.train.precision)), c.train.precision, device);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto [top, classes] = torch::softmax(logits, 1).topk(std::min<int64_t>(o.top_k, logits.size(1)), 1);
  const Ranked ranked{top.contiguous(), classes.contiguous(), logits.contiguous()};
  for (size_t i = 0; i < sources.size(); ++i) print_one(o, sources[i], ranked, static_cast<int64_t>(i), info.class_names);
  std::cout.flush();
  if (images.size(0) >= 1000) {
    log::info(format("predict: %lld images in %.2f s (%.0f images/s on %s)", static_cast<long long>(images.size(0)),
                     seconds, static_cast<double>(images.size(0)) / seconds, device.str().c_str()));
  }
  if (!o.labels.empty()) {
    const torch::Tensor labels = data::read_idx_labels(o.labels, info.num_classes());
    if (labels.size(0) != logits.size(0)) {
      throw UsageError(format("--labels %s: %lld labels for %lld images", o.labels.c_str(),
                              static_cast<long long>(labels.size(0)), static_cast<long long>(logits.size(0))),
                       "pass the labels file that belongs to the one IDX images file given");
    }
    const int64_t correct = logits.argmax(1).eq(labels).sum().item<int64_t>();
    log::info(format("accuracy %.4f (%lld/%lld) against %s", static_cast<double>(correct) / static_cast<double>(labels.size(0)),
                     static_cast<long long>(correct), static_cast<long long>(labels.size(0)), o.labels.c_str()));
  }
  return failures > 0 ? kExitData : kExitOk;
}

}  // namespace

Command register_predict(CLI::App& parent) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* app = parent.add_subcommand("predict", "Classify images with a checkpoint: PNG, PGM/PPM, IDX files or - (stdin)");
  app->add_option("--checkpoint", o->checkpoint, "Checkpoint file, e.g. runs/mnist_cnn/checkpoints/best.pt")->required();
  app->add_option("inputs", o->inputs, "Image files: PNG, PGM/PPM (P2/P3/P5/P6), IDX (every image), or - for a PNG on stdin")
      ->required();
  app->add_option("--top-k", o->top_k, "Classes shown per image")->capture_default_str()->check(CLI::Range(1, 1000));
  auto* json = app->add_flag("--json", o->json, "One JSON object per image (JSON lines)");
  app->add_flag("--csv", o->csv, "CSV: one row per image and rank")->excludes(json);
  app->add_flag("--logits", o->logits, "With --json: the raw logits too");
  app->add_option("--invert", o->invert,
                  "auto: invert an image whose border is light, for a gray model trained on light-on-dark images "
                  "(the MNIST family; never for colour models); yes; no")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "yes", "no"}));
  app->add_option("--labels", o->labels, "IDX labels file for one IDX images input: print the accuracy");
  app->add_option("--device", o->device, "auto, cpu, cuda or cuda:N (default: as when trained)");
  app->add_option("--threads", o->threads, "CPU threads; 0 = all available cores (default: as when trained)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--batch-size", o->batch_size, "Images per forward pass (default: eval.batch_size of the run)")
      ->check(CLI::PositiveNumber);
  app->footer("Each image is converted to the model's channels (1: ITU-R 601 luma, 3: RGB; transparency on white),\n"
              "padded to a square with its border colour, resized to the dataset's size (area averaging when\n"
              "shrinking, bilinear when growing) and, with --invert auto, inverted when its border is light.\n"
              "An unreadable image is reported (exit 4) after the others are printed.");
  return {app, [o] { return run_predict(*o); }};
}

}  // namespace dltrain::app
