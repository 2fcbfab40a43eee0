// Batched forward passes for `dltrain predict` (see predict.hpp).
#include "dltrain/predict/predict.hpp"

#include "dltrain/device/device.hpp"

namespace dltrain::predict {

Ready load_for_inference(const std::string& path, const std::string& device, int64_t threads) {
  Ready r{train::load_checkpoint(path)};
  const config::Config& c = r.checkpoint.config;
  r.device = device::resolve(device.empty() ? c.train.device : device);
  device::configure_threads(threads >= 0 ? threads : c.train.threads);
  r.checkpoint.model.net->to(r.device);
  return r;
}

torch::Tensor logits(torch::nn::Sequential& net, const torch::Tensor& images, int64_t batch_size,
                     const data::Normalizer& normalize, train::Precision precision, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor on_device = images.to(device);
  std::vector<torch::Tensor> parts;
  for (int64_t begin = 0; begin < on_device.size(0); begin += batch_size) {
    const torch::Tensor batch = normalize(on_device.slice(0, begin, std::min(begin + batch_size, on_device.size(0))));
    const train::ForwardScope scope(precision, device);
    parts.push_back(net->forward(batch).to(torch::kFloat));
  }
  if (parts.empty()) return torch::empty({0, 0});
  return torch::cat(parts).cpu();
}

}  // namespace dltrain::predict
