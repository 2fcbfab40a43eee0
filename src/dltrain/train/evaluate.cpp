// Evaluation: loss and confusion are summed on the device and read once at the end.
#include "dltrain/train/evaluate.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "dltrain/core/format.hpp"
#include "dltrain/report/metrics.hpp"
#include "dltrain/report/png.hpp"

namespace dltrain::train {
namespace {

// The mean of the logits of `images` and of its four 1-pixel shifts (up, down, left, right), each brought in from a
// black border (`black`: a black pixel after normalisation, [1, C, 1, 1]).
torch::Tensor shifted_mean_logits(torch::nn::Sequential& net, const torch::Tensor& images, const torch::Tensor& black) {
  const int64_t h = images.size(2), w = images.size(3);
  const torch::Tensor padded = torch::constant_pad_nd(images - black, {1, 1, 1, 1}) + black;
  torch::Tensor sum = net->forward(images);
  // Where each shifted view starts in the padded batch; (1, 1) would be the image itself.
  constexpr std::array<std::pair<int64_t, int64_t>, 4> kShifts = {{{0, 1}, {2, 1}, {1, 0}, {1, 2}}};
  for (const auto& [dy, dx] : kShifts) {
    sum = sum + net->forward(padded.narrow(2, dy, h).narrow(3, dx, w));
  }
  return sum / 5.0;
}

}  // namespace

EvalResult evaluate(torch::nn::Sequential& net, const data::Split& split, int64_t batch_size,
                    const data::Normalizer& normalize, int64_t num_classes, Precision precision,
                    const EvalCallback& after_batch, const SumAcross& sum_across, bool keep_predictions, bool tta) {
  torch::NoGradGuard no_grad;
  const bool was_training = net->is_training();
  net->eval();
  const auto device = split.images.device();
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device));
  torch::Tensor confusion = torch::zeros({num_classes, num_classes}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  torch::Tensor predictions, confidence;
  if (keep_predictions) {
    predictions = torch::zeros({split.size()}, torch::TensorOptions().dtype(torch::kInt64).device(device));
    confidence = torch::zeros({split.size()}, torch::TensorOptions().dtype(torch::kFloat).device(device));
  }
  const int64_t batches = (split.size() + batch_size - 1) / batch_size;
  const torch::Tensor black =
      tta ? normalize(torch::zeros({1, split.images.size(1), 1, 1}, split.images.options())) : torch::Tensor();
  bool complete = true;
  for (int64_t b = 0; b < batches && complete; ++b) {
    const data::Batch batch = data::eval_batch(split, b, batch_size, normalize);
    torch::Tensor logits;
    {
      const ForwardScope scope(precision, device);
      logits = tta ? shifted_mean_logits(net, batch.images, black) : net->forward(batch.images);
    }
    if (logits.scalar_type() == torch::kBFloat16 || logits.scalar_type() == torch::kHalf) {
      logits = logits.to(torch::kFloat);  // the loss in float, as in training
    }
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, batch.labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .to(torch::kDouble);
    confusion += report::confusion_matrix(logits.argmax(1), batch.labels, num_classes);
    if (keep_predictions) {
      const auto [top, predicted] = torch::softmax(logits, 1).max(1);
      predictions.slice(0, b * batch_size, b * batch_size + top.size(0)).copy_(predicted);
      confidence.slice(0, b * batch_size, b * batch_size + top.size(0)).copy_(top);
    }
    if (after_batch) complete = after_batch(std::min(split.size(), (b + 1) * batch_size), split.size());
  }
  net->train(was_training);
  if (sum_across) {
    sum_across(loss_sum);
    sum_across(confusion);
  }
  EvalResult r;
  r.complete = complete;
  r.predictions = predictions;
  r.confidence = confidence;
  r.confusion = confusion.cpu();
  r.total = r.confusion.sum().item<int64_t>();
  r.correct = r.confusion.diagonal().sum().item<int64_t>();
  r.accuracy = r.total > 0 ? static_cast<double>(r.correct) / static_cast<double>(r.total) : 0.0;
  r.loss = r.total > 0 ? loss_sum.item<double>() / static_cast<double>(r.total) : 0.0;
  return r;
}

nlohmann::json top_mistakes(const torch::Tensor& predictions, const torch::Tensor& confidence, const data::Split& split,
                            const std::vector<std::string>& class_names, int64_t count) {
  const torch::Tensor wrong = predictions.ne(split.labels);
  const torch::Tensor ranked = confidence.masked_fill(wrong.logical_not(), -1.0);
  const auto [values, indices] = ranked.topk(std::min(count, ranked.size(0)));
  const torch::Tensor v = values.cpu(), idx = indices.cpu(), predicted = predictions.cpu(), labels = split.labels.cpu();
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < v.size(0) && v[i].item<float>() > 0.0F; ++i) {  // 0: not evaluated (a stopped pass)
    const int64_t index = idx[i].item<int64_t>();
    out.push_back({{"index", index},
                   {"label", class_names.at(static_cast<size_t>(labels[index].item<int64_t>()))},
                   {"predicted", class_names.at(static_cast<size_t>(predicted[index].item<int64_t>()))},
                   {"confidence", v[i].item<double>()},
                   {"png", report::base64(report::encode_png(split.images[index]))}});
  }
  return out;
}

nlohmann::json eval_json(const EvalResult& r, const std::vector<std::string>& class_names) {
  nlohmann::json per_class = nlohmann::json::array();
  for (const double accuracy : report::per_class_accuracy(r.confusion)) {
    per_class.push_back(std::isfinite(accuracy) ? nlohmann::json(accuracy) : nlohmann::json(nullptr));
  }
  std::vector<std::vector<int64_t>> matrix;
  for (int64_t i = 0; i < r.confusion.size(0); ++i) {
    const torch::Tensor row = r.confusion[i].contiguous();
    matrix.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  return {{"accuracy", r.accuracy},
          {"accuracy_stderr", report::accuracy_stderr(r.accuracy, r.total)},
          {"loss", r.loss},
          {"correct", r.correct},
          {"examples", r.total},
          {"classes", class_names},
          {"per_class_accuracy", per_class},
          {"confusion_matrix", matrix}};
}

std::string eval_text(const EvalResult& r, const std::vector<std::string>& class_names) {
  std::string out = format("accuracy %.2f%% ± %.2f%% (%lld/%lld)   loss %.4f\n", 100.0 * r.accuracy,
                           100.0 * report::accuracy_stderr(r.accuracy, r.total), static_cast<long long>(r.correct),
                           static_cast<long long>(r.total), r.loss);
  out += "per-class accuracy:\n";
  const auto accs = report::per_class_accuracy(r.confusion);
  for (size_t c = 0; c < accs.size(); ++c) out += format("  %-12s %6.2f%%\n", class_names.at(c).c_str(), 100.0 * accs[c]);
  out += "confusion matrix (rows: true class, columns: predicted):\n      ";
  for (size_t c = 0; c < accs.size(); ++c) out += format("%6zu", c);
  const torch::Tensor confusion = r.confusion.contiguous();
  const auto* counts = confusion.data_ptr<int64_t>();
  for (int64_t i = 0; i < confusion.size(0); ++i) {
    out += format("\n  %2lld  ", static_cast<long long>(i));
    for (int64_t j = 0; j < confusion.size(1); ++j) {
      out += format("%6lld", static_cast<long long>(counts[i * confusion.size(1) + j]));
    }
  }
  return out + "\n";
}

}  // namespace dltrain::train
