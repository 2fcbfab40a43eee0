// train.precision: names, device checks, and that ForwardScope really switches autocast on and back off.
#include "dltrain/train/precision.hpp"
// (keep this order: Torch's CHECK before Catch's)
#include "catch_compat.hpp"

#include "dltrain/core/error.hpp"

using dltrain::train::ForwardScope;
using dltrain::train::Precision;

TEST_CASE("precision: names and device checks", "[precision]") {
  CHECK(dltrain::config::precisions().find("bf16")->value == Precision::kBf16);
  CHECK(std::string(dltrain::config::precisions().name(Precision::kFp64)) == "fp64");
  CHECK(dltrain::config::precisions().find("fp8") == nullptr);
  CHECK_THROWS_WITH(dltrain::train::check_precision(Precision::kTf32, torch::kCPU), ContainsText("CUDA mode"));
  CHECK_NOTHROW(dltrain::train::check_precision(Precision::kBf16, torch::kCPU));
  CHECK(dltrain::train::parameter_dtype(Precision::kFp64) == torch::kDouble);
  CHECK(dltrain::train::parameter_dtype(Precision::kBf16) == torch::kFloat);
}

TEST_CASE("precision: bf16 autocasts a linear layer inside the scope only", "[precision]") {
  torch::manual_seed(0);
  torch::nn::Linear linear(8, 4);
  const torch::Tensor x = torch::randn({2, 8});
  {
    const ForwardScope scope(Precision::kBf16, torch::kCPU);
    CHECK(linear->forward(x).scalar_type() == torch::kBFloat16);
    {
      const ForwardScope nested(Precision::kBf16, torch::kCPU);
      CHECK(linear->forward(x).scalar_type() == torch::kBFloat16);
    }
    CHECK(linear->forward(x).scalar_type() == torch::kBFloat16);  // the inner scope restored the outer state
  }
  CHECK(linear->forward(x).scalar_type() == torch::kFloat);  // off again after the scope
  {
    const ForwardScope scope(Precision::kFp32, torch::kCPU);
    CHECK(linear->forward(x).scalar_type() == torch::kFloat);
  }
}
