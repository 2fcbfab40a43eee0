// Classification metrics: confusion matrix, per-class accuracy, and accuracy with its uncertainty.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace dltrain::report {

// Counts of (true class, predicted class) pairs: int64 [C, C] on the inputs' device.
torch::Tensor confusion_matrix(const torch::Tensor& predictions, const torch::Tensor& labels, int64_t num_classes);

// Diagonal over row sums of a confusion matrix; a class with no examples gets NaN.
std::vector<double> per_class_accuracy(const torch::Tensor& confusion);

// Binomial standard error of an accuracy measured on `n` examples: sqrt(p (1 - p) / n).
double accuracy_stderr(double accuracy, int64_t n);

}  // namespace dltrain::report
