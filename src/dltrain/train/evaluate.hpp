// Evaluation of a model on a whole split, in large batches, under no-grad and eval mode.
#pragma once

#include <cstdint>
#include <functional>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "dltrain/data/batches.hpp"
#include "dltrain/train/precision.hpp"

namespace dltrain::train {

struct EvalResult {
  double loss = 0.0;  // mean cross-entropy (no label smoothing)
  double accuracy = 0.0;
  int64_t correct = 0;
  int64_t total = 0;
  torch::Tensor confusion;  // int64 [C, C] on the CPU; rows are true classes
  bool complete = true;     // false: stopped early by the callback; the numbers cover only part of the split
  // With keep_predictions: each image's predicted class (int64 [N]) and its softmax probability (float [N]), on the
  // split's device.
  torch::Tensor predictions, confidence;
};

// Called after each batch with the images done so far and the split's size; returning false stops the pass.
using EvalCallback = std::function<bool(int64_t done, int64_t total)>;

// Sums a tensor over the workers of a data-parallel run, in place.
using SumAcross = std::function<void(torch::Tensor&)>;

// Forward passes run in `precision` as in training (autocast for bf16), so eval reproduces train's numbers.
// With `sum_across`, `split` is this worker's shard and the loss sum and confusion matrix are summed over the
// workers before they are read: the result covers the whole split. With `tta` (eval.tta), each image's logits are
// the mean of the model's logits for it and its four 1-pixel shifts (filled with black).
EvalResult evaluate(torch::nn::Sequential& net, const data::Split& split, int64_t batch_size,
                    const data::Normalizer& normalize, int64_t num_classes, Precision precision = Precision::kFp32,
                    const EvalCallback& after_batch = {}, const SumAcross& sum_across = {},
                    bool keep_predictions = false, bool tta = false);

// The `count` images of `split` the model got wrong with the highest confidence, most confident first: index, true
// and predicted class names, confidence, and the image as a base64 PNG (report.html shows them).
nlohmann::json top_mistakes(const torch::Tensor& predictions, const torch::Tensor& confidence, const data::Split& split,
                            const std::vector<std::string>& class_names, int64_t count);

// accuracy, its standard error, loss, per-class accuracy (a list in class order, with the class names beside it)
// and the confusion matrix.
nlohmann::json eval_json(const EvalResult& result, const std::vector<std::string>& class_names);
// A human-readable block: accuracy, loss, per-class accuracy and the confusion matrix.
std::string eval_text(const EvalResult& result, const std::vector<std::string>& class_names);

}  // namespace dltrain::train
