// The run configuration as plain structs with defaults; parse.cpp fills them from JSON in one place.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dltrain/config/vocabulary.hpp"

namespace dltrain::config {

struct RunConfig {
  std::string name = "run";
  int64_t seed = 1;
  std::string output_dir = "runs";
};

// data.augment (README "Augmentation"): random transforms of each training batch on the training device. All off by
// default; evaluation never augments.
struct AugmentConfig {
  int64_t translate = 0;  // pixels each way, at most
  double rotate = 0.0;    // degrees each way, at most
  double scale = 0.0;     // zoom by a factor in [1 - scale, 1 + scale]
  double shear = 0.0;     // degrees each way, at most (horizontal shear)
  double elastic = 0.0;   // pixels: standard deviation of a smooth random displacement field
  double erase = 0.0;     // probability of erasing one rectangle of an image
  std::array<double, 2> erase_area = {0.02, 0.2};  // the rectangle's area, as fractions of the image
  double hflip = 0.0;     // probability of a horizontal flip; refused for digits (a flipped 2 is not a 2) unless:
  bool force_hflip = false;
};

struct DataConfig {
  std::string dataset = "mnist";  // a name from the dataset table (data/datasets.cpp)
  std::string root;         // folder holding the dataset's files (image_folder: its class folders); empty: search
  // Validation hold-out, the last images of the training file: a count (5000: the last 5000 images) or a fraction
  // below 1 (0.1: the last tenth). 0: none, and then no model selection and no early stopping.
  double val_split = 0.0;
  int64_t limit_train = 0;  // use only the first N training images (0: all); for quick experiments
  // image_folder only (README "Datasets"): root is a folder of class subfolders of images.
  std::vector<int64_t> image_size;  // [C, H, W] every image is brought to (C 1: gray, 3: RGB); required there
  std::string test_root;            // a folder with the same class subfolders for the test split; or else:
  double test_split = 0.0;          // the test images held out of root: a count, or a fraction in (0, 0.9]
  int64_t split_seed = 0;           // seeds the order root's images are split in (test, then validation)
  AugmentConfig augment;
};

// One entry of model.layers. Only the fields that belong to `type` (its row in layer_types()) are read or written.
struct LayerSpec {
  LayerType type = LayerType::kLinear;
  int64_t out_features = 0;
  int64_t out_channels = 0;
  int64_t kernel_size = 0;
  int64_t stride = 0;  // parse() resolves 0 (the default) to 1 for conv2d and to kernel_size for pooling
  int64_t padding = 0;
  bool bias = true;
  double p = 0.5;                 // dropout probability
  double negative_slope = 0.01;   // leaky_relu
};

struct ModelConfig {
  ModelType type = ModelType::kMlp;  // mlp (shorthand) or layers
  std::vector<int64_t> hidden = {128};
  LayerType activation = LayerType::kReLU;  // an activation layer type
  double dropout = 0.0;
  std::vector<LayerSpec> layers;
};

// Defaults per optimizer come from its row in optimizers(); the values below are Adam's.
struct OptimizerConfig {
  Optimizer name = Optimizer::kAdam;
  double lr = 1e-3;
  double momentum = 0.0;       // sgd, rmsprop
  bool nesterov = false;       // sgd
  double weight_decay = 0.0;
  std::array<double, 2> betas = {0.9, 0.999};  // adam, adamw
  double eps = 1e-8;
  bool amsgrad = false;        // adam, adamw
  double alpha = 0.99;         // rmsprop smoothing
  double rho = 0.9;            // adadelta
  double lr_decay = 0.0;       // adagrad
};

// Defaults per scheduler come from its row in schedulers().
struct SchedulerConfig {
  Scheduler name = Scheduler::kConstant;
  int64_t step_size = 1;              // step: epochs between decays
  double gamma = 0.1;                 // step, multistep, exponential
  std::vector<int64_t> milestones;    // multistep: epochs
  double warmup_epochs = 0.0;         // cosine: linear warm-up, fractional epochs allowed
  double min_lr = 0.0;                // cosine
  double max_lr = 0.0;                // onecycle: peak lr (parse() resolves 0 to the optimizer's lr)
  double pct_start = 0.3;             // onecycle
  double div_factor = 25.0;           // onecycle: initial lr = max_lr / div_factor
  double final_div_factor = 1e4;      // onecycle: final lr = initial lr / final_div_factor
  // cosine, onecycle: the epochs the schedule is planned over (0: train.epochs). Later steps keep its final lr,
  // so a resumed run given more epochs can keep its schedule instead of re-planning it.
  int64_t horizon_epochs = 0;
};

struct EarlyStoppingConfig {
  int64_t patience = 0;  // validation passes without improvement before stopping; 0: off (needs data.val_split)
  double min_delta = 0.0;
};

// Data-parallel training (several workers, see dist/): how the workers talk. Used only when a launcher
// (torchrun, Slurm, `dltrain train --nproc N`) starts more than one worker.
struct DistributedConfig {
  DistBackend backend = DistBackend::kAuto;
  double timeout = 300.0;  // seconds a rendezvous or a collective may wait for the other workers
  bool overlap = true;  // all-reduce each gradient bucket during backward, as soon as it is complete
};

// train.ema: an exponential moving average of the weights (train/ema.hpp), evaluated and checkpointed beside them.
struct EmaConfig {
  double decay = 0.0;  // 0: off; e.g. 0.999
};

struct TrainConfig {
  int64_t epochs = 10;
  int64_t batch_size = 64;
  OptimizerConfig optimizer;
  SchedulerConfig scheduler;
  double label_smoothing = 0.0;
  double grad_clip = 0.0;  // max global L2 norm of gradients; 0: off
  EarlyStoppingConfig early_stopping;
  int64_t log_interval = 100;  // steps between progress lines when not on a terminal
  std::string checkpoint_every = "1 epoch";  // "N epoch(s)" or "N step(s)": when last.pt is written
  std::string device = "auto";
  int64_t threads = 0;  // 0: all available cores
  Precision precision = Precision::kFp32;  // see precisions()
  CudaGraphs cuda_graphs = CudaGraphs::kAuto;  // capture the training step in one CUDA graph
  bool deterministic = false;  // CUDA: deterministic cuDNN and cuBLAS algorithms, no cuDNN autotuning (slower)
  DistributedConfig distributed;
  EmaConfig ema;
};

struct EvalConfig {
  int64_t batch_size = 100;  // large CPU batches are slower: 1000 took 6x longer than 100 for the CNN
  int64_t every = 1;  // evaluate every N epochs (and always after the last one)
  bool test_during_training = true;  // false: the test split is evaluated once, at the end
  // Test-time augmentation: the result's test accuracy also measured with logits averaged over the image and its
  // 1-pixel shifts (report.json tta_test). Reported beside the plain number, never used to select a model.
  bool tta = false;
};

struct Config {
  RunConfig run;
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  EvalConfig eval;
};

// Parses and validates a JSON document; `source` names it in errors (usually the file path).
// Throws ConfigError listing every problem found, one per line: "<source>: /json/path: message".
Config parse(const nlohmann::json& doc, const std::string& source);
// Reads `path`, applies `overrides` ("key.path=value", see overrides.hpp), parses and validates.
Config load(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});
// The fully resolved config, every field written: parse(to_json(c)) == c.
nlohmann::json to_json(const Config& config);

// A parsed train.checkpoint_every.
struct Interval {
  int64_t count = 1;
  bool steps = false;  // false: epochs
};
// "3 epochs", "1 epoch", "500 steps"; false when `text` is not of that form.
bool parse_interval(const std::string& text, Interval& out);

// "Did you mean 'x'?" for `word` among `candidates`, or an empty string when nothing is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace dltrain::config
