// Bucketed gradient all-reduce, started from gradient hooks, with the stop and finite votes in the last bucket.
#include "dltrain/dist/gradient_sync.hpp"

#include <algorithm>  // std::fill
#include <chrono>
#include <limits>

#include "dltrain/core/format.hpp"

namespace dltrain::dist {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Clock = std::chrono::steady_clock;

}  // namespace

GradientSync::GradientSync(Group& group, std::vector<torch::Tensor> params, bool overlap, int64_t bucket_bytes)
    : group_(group), params_(std::move(params)), overlap_(overlap), bucket_of_(params_.size()),
      offset_of_(params_.size()), arrived_(params_.size(), false) {
  // Backward produces the last layer's gradients first: buckets fill in reverse parameter order.
  int64_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const int64_t size = params_[k].numel() * static_cast<int64_t>(params_[k].element_size());
    if (buckets_.empty() || (bytes + size > bucket_bytes && !buckets_.back().params.empty())) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    b.params.push_back(k);
    bucket_of_[k] = buckets_.size() - 1;
    offset_of_[k] = b.numel;
    b.numel += params_[k].numel();
    bytes += size;
  }
  if (buckets_.empty()) buckets_.emplace_back();
  const auto options = (params_.empty() ? torch::TensorOptions().dtype(torch::kFloat) : params_[0].options())
                           .requires_grad(false);
  for (size_t i = 0; i < buckets_.size(); ++i) {
    buckets_[i].flat = torch::zeros({buckets_[i].numel + (i + 1 == buckets_.size() ? 2 : 0)}, options);  // + votes
  }
  not_finite_ = torch::zeros({}, options);
  if (!overlap_) return;
  for (size_t k = 0; k < params_.size(); ++k) {
    hooks_.push_back(params_[k].register_hook([this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
  }
}

GradientSync::~GradientSync() {
  for (size_t k = 0; k < hooks_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

void GradientSync::before_backward(const torch::Tensor& loss) {
  torch::NoGradGuard no_grad;
  torch::Tensor votes = this->votes();
  votes[0].fill_(stop_ ? 1.0 : 0.0);
  if (injecting()) {
    votes[1].fill_(1.0);
  } else {
    votes[1].copy_(loss.detach().isfinite().logical_not());
  }
  for (Bucket& b : buckets_) b.waiting = b.params.size();
  std::fill(arrived_.begin(), arrived_.end(), false);
  next_launch_ = 0;
}

// A gradient hook: LibTorch calls it during backward with the parameter's gradient before it is accumulated (the
// gradients were reset to none before the step, so that is the whole gradient).
torch::Tensor GradientSync::votes() { return buckets_.back().flat.narrow(0, buckets_.back().numel, 2); }

torch::Tensor GradientSync::slot(size_t param) {
  return buckets_[bucket_of_[param]].flat.narrow(0, offset_of_[param], params_[param].numel());
}

void GradientSync::on_gradient(size_t param, const torch::Tensor& grad) {
  torch::NoGradGuard no_grad;
  Bucket& b = buckets_[bucket_of_[param]];
  torch::Tensor into = slot(param);
  if (injecting()) {
    into.fill_(kNaN);
  } else {
    into.copy_(grad.reshape({-1}));
  }
  arrived_[param] = true;
  if (--b.waiting == 0) launch_ready();
}

void GradientSync::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].waiting == 0) launch(buckets_[next_launch_++]);
}

void GradientSync::launch(Bucket& b) {
  b.pending =
      group_.start_all_reduce(b.flat, format("the gradient all-reduce of step %lld", static_cast<long long>(step_)));
}

void GradientSync::average() {
  const auto start = Clock::now();
  torch::NoGradGuard no_grad;
  // Without hooks, or for parameters that got no gradient this step: pack here, then start what is left.
  for (size_t k = 0; k < params_.size(); ++k) {
    if (arrived_[k]) continue;
    torch::Tensor into = slot(k);
    if (injecting()) {
      into.fill_(kNaN);
    } else if (params_[k].grad().defined()) {
      into.copy_(params_[k].grad().reshape({-1}));
    } else {
      into.zero_();
    }
    --buckets_[bucket_of_[k]].waiting;
  }
  launch_ready();
  for (Bucket& b : buckets_) group_.finish(b.pending);
  const torch::Tensor votes = this->votes().to(torch::kCPU);
  stop_votes_ = static_cast<int64_t>(votes[0].item<double>() + 0.5);
  not_finite_.fill_(votes[1].item<double>() > 0.5 ? kNaN : 0.0);
  // The means stay in the buckets and the gradients become views of them: no copy back. The next step resets the
  // gradients to none (train_step) before backward refills the buckets.
  for (Bucket& b : buckets_) b.flat.div_(group_.size());
  for (size_t k = 0; k < params_.size(); ++k) params_[k].mutable_grad() = slot(k).view(params_[k].sizes());
  seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
  ++calls_;
}

}  // namespace dltrain::dist
