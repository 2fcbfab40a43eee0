// Confusion matrix, per-class accuracy and the accuracy's standard error.
#include "dltrain/report/metrics.hpp"

#include "catch_compat.hpp"

#include <cmath>

using namespace dltrain;

TEST_CASE("confusion matrix and per-class accuracy", "[metrics]") {
  const torch::Tensor labels = torch::tensor({0, 0, 1, 1, 1, 2}, torch::kInt64);
  const torch::Tensor preds = torch::tensor({0, 1, 1, 1, 0, 2}, torch::kInt64);
  const torch::Tensor m = report::confusion_matrix(preds, labels, 4);
  CHECK(m[0][0].item<int64_t>() == 1);
  CHECK(m[0][1].item<int64_t>() == 1);
  CHECK(m[1][0].item<int64_t>() == 1);
  CHECK(m[1][1].item<int64_t>() == 2);
  CHECK(m.sum().item<int64_t>() == 6);
  const auto acc = report::per_class_accuracy(m);
  CHECK(acc[0] == Approx(0.5));
  CHECK(acc[1] == Approx(2.0 / 3));
  CHECK(acc[2] == Approx(1.0));
  CHECK(std::isnan(acc[3]));
}

TEST_CASE("accuracy standard error", "[metrics]") {
  CHECK(report::accuracy_stderr(0.99, 10000) == Approx(std::sqrt(0.99 * 0.01 / 10000)));
  CHECK(report::accuracy_stderr(1.0, 100) == 0.0);
  CHECK(std::isnan(report::accuracy_stderr(0.5, 0)));
}
