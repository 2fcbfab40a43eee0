// The fp16 loss scaler on the CPU (the same arithmetic as ATen's CUDA kernels; tests/cuda compares the two):
// unscaling, skipped steps on inf/NaN, back-off and growth, and its checkpoint state. Also the sync-free clip.
#include "dltrain/train/grad_scaler.hpp"
#include "dltrain/train/step.hpp"

#include "catch_compat.hpp"

#include <limits>

using namespace dltrain;

namespace {

struct Fixture {
  torch::Tensor p = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd{{p}, torch::optim::SGDOptions(0.1)};
  void set_grad(float value) { p.mutable_grad() = torch::full({3}, value); }
};

}  // namespace

TEST_CASE("the scaler unscales gradients and steps when they are finite", "[scaler]") {
  Fixture f;
  train::GradScaler scaler(torch::kCPU, {1024.0, 2.0, 0.5, 3});
  CHECK(scaler.scale(torch::full({}, 0.5)).item<double>() == 512.0);
  f.set_grad(1024.0F * 0.25F);  // what backward of the scaled loss produced
  scaler.unscale({f.p});
  CHECK(f.p.grad()[0].item<float>() == 0.25F);
  CHECK(scaler.step(f.sgd));
  CHECK(f.p[0].item<float>() == Approx(1.0 - 0.1 * 0.25));
  CHECK(scaler.current_scale() == 1024.0);
}

TEST_CASE("the scaler skips a step whose gradients hold inf or NaN and backs off", "[scaler]") {
  for (const float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    Fixture f;
    train::GradScaler scaler(torch::kCPU, {1024.0, 2.0, 0.5, 3});
    f.p.mutable_grad() = torch::tensor({1.0F, bad, 1.0F});
    scaler.unscale({f.p});
    CHECK_FALSE(scaler.step(f.sgd));
    CHECK(torch::equal(f.p, torch::ones({3})));  // untouched
    CHECK(scaler.current_scale() == 512.0);
  }
}

TEST_CASE("the scale grows after growth_interval good steps in a row, and an overflow restarts the count", "[scaler]") {
  Fixture f;
  train::GradScaler scaler(torch::kCPU, {8.0, 2.0, 0.5, 3});
  const auto step_with = [&](float g) {
    f.set_grad(g);
    scaler.unscale({f.p});
    return scaler.step(f.sgd);
  };
  CHECK(step_with(1.0F));
  CHECK(step_with(1.0F));
  CHECK(scaler.current_scale() == 8.0);
  CHECK(step_with(1.0F));
  CHECK(scaler.current_scale() == 16.0);  // third good step in a row
  CHECK(step_with(1.0F));
  CHECK(step_with(1.0F));
  CHECK_FALSE(step_with(std::numeric_limits<float>::infinity()));
  CHECK(scaler.current_scale() == 8.0);
  CHECK(step_with(1.0F));
  CHECK(step_with(1.0F));
  CHECK(scaler.current_scale() == 8.0);  // the count restarted at the overflow

  train::GradScaler restored(torch::kCPU, {8.0, 2.0, 0.5, 3});
  restored.set_state(scaler.state());
  CHECK(restored.current_scale() == 8.0);
  f.set_grad(1.0F);
  restored.unscale({f.p});
  restored.step(f.sgd);
  CHECK(restored.current_scale() == 16.0);  // it also took over the two good steps
}

TEST_CASE("clip_grad_norm matches LibTorch's clip_grad_norm_ and leaves small gradients alone", "[scaler]") {
  torch::manual_seed(3);
  std::vector<torch::Tensor> ours = {torch::randn({4, 5}, torch::requires_grad()), torch::randn({5}, torch::requires_grad())};
  std::vector<torch::Tensor> theirs = {ours[0].detach().clone().requires_grad_(true),
                                       ours[1].detach().clone().requires_grad_(true)};
  for (size_t i = 0; i < ours.size(); ++i) {
    ours[i].mutable_grad() = torch::randn_like(ours[i]) * 10;
    theirs[i].mutable_grad() = ours[i].grad().clone();
  }
  train::clip_grad_norm(ours, 1.0);
  torch::nn::utils::clip_grad_norm_(theirs, 1.0);
  for (size_t i = 0; i < ours.size(); ++i) CHECK(torch::allclose(ours[i].grad(), theirs[i].grad(), 1e-6, 1e-7));
  const torch::Tensor before = ours[0].grad().clone();
  train::clip_grad_norm(ours, 100.0);
  CHECK(torch::equal(ours[0].grad(), before));
}
