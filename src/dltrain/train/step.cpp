// The training step.
#include "dltrain/train/step.hpp"

namespace dltrain::train {

StepOutput train_step(torch::nn::Sequential& net, torch::optim::Optimizer& optimizer, const data::Batch& batch,
                      const StepSettings& s) {
  net->zero_grad(true);
  torch::Tensor logits, loss;
  {
    const ForwardScope precision(s.precision, s.device);
    logits = net->forward(batch.images);
    loss = torch::nn::functional::cross_entropy(logits, batch.labels, s.loss);
  }
  loss.backward();
  if (s.grad_clip > 0) torch::nn::utils::clip_grad_norm_(net->parameters(), s.grad_clip);
  optimizer.step();
  return {loss.detach(), logits.detach()};
}

}  // namespace dltrain::train
