// The training step.
#include "dltrain/train/step.hpp"

#include "dltrain/dist/gradient_sync.hpp"

namespace dltrain::train {

void clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return;
  const torch::Tensor total = torch::stack(at::_foreach_norm(grads)).norm();
  const torch::Tensor scale = (max_norm / (total + 1e-6)).clamp_max_(1.0);
  for (auto& g : grads) g.mul_(scale);
}

StepOutput train_step(torch::nn::Sequential& net, torch::optim::Optimizer& optimizer, const data::Batch& batch,
                      const StepSettings& s) {
  net->zero_grad(true);
  torch::Tensor logits, loss;
  {
    const ForwardScope precision(s.precision, s.device);
    logits = net->forward(batch.images);
    loss = torch::nn::functional::cross_entropy(logits, batch.labels, s.loss);
  }
  if (s.scaler != nullptr) {
    if (s.sync != nullptr) s.sync->before_backward(loss);
    s.scaler->scale(loss).backward();
    if (s.sync != nullptr) s.sync->average();
    const std::vector<torch::Tensor> params = net->parameters();
    s.scaler->unscale(params);
    if (s.grad_clip > 0) clip_grad_norm(params, s.grad_clip);
    s.scaler->step(optimizer);
  } else {
    if (s.sync != nullptr) s.sync->before_backward(loss);
    loss.backward();
    if (s.sync != nullptr) s.sync->average();
    if (s.grad_clip > 0) clip_grad_norm(net->parameters(), s.grad_clip);
    optimizer.step();
  }
  torch::NoGradGuard no_grad;
  return {loss.detach(), logits.argmax(1).eq(batch.labels).sum()};
}

}  // namespace dltrain::train
