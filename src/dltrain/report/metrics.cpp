// Metrics computed from predictions; the confusion matrix is accumulated on the device with bincount.
#include "dltrain/report/metrics.hpp"

#include <cmath>
#include <limits>

namespace dltrain::report {

torch::Tensor confusion_matrix(const torch::Tensor& predictions, const torch::Tensor& labels, int64_t num_classes) {
  const torch::Tensor pairs = labels.to(torch::kInt64) * num_classes + predictions.to(torch::kInt64);
  return torch::bincount(pairs, {}, num_classes * num_classes).view({num_classes, num_classes});
}

std::vector<double> per_class_accuracy(const torch::Tensor& confusion) {
  const torch::Tensor m = confusion.to(torch::kCPU, torch::kDouble);
  const torch::Tensor rows = m.sum(1);
  const torch::Tensor diag = m.diagonal();
  std::vector<double> out;
  for (int64_t c = 0; c < m.size(0); ++c) {
    const double n = rows[c].item<double>();
    out.push_back(n > 0 ? diag[c].item<double>() / n : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

double accuracy_stderr(double accuracy, int64_t n) {
  if (n <= 0) return std::numeric_limits<double>::quiet_NaN();
  return std::sqrt(accuracy * (1.0 - accuracy) / static_cast<double>(n));
}

}  // namespace dltrain::report
