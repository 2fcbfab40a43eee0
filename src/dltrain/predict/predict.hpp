// The model's logits for prepared images, in batches, exactly as `dltrain eval` computes them (same normalisation
// and precision), so that predict's accuracy on a test file equals eval's.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "dltrain/data/batches.hpp"
#include "dltrain/data/datasets.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/precision.hpp"

namespace dltrain::predict {

// A checkpoint made ready to run, as eval and predict use it: its model on `device` ("" = the device it was trained
// on), CPU threads set (threads < 0 = as trained); checkpoint.data says what it was trained on (classes, input
// shape, normalisation).
struct Ready {
  train::LoadedCheckpoint checkpoint;
  torch::Device device = torch::kCPU;
  const data::Description& data() const { return checkpoint.data; }
};
Ready load_for_inference(const std::string& path, const std::string& device, int64_t threads);

// `images`: uint8 [N, C, H, W] of the model's input shape, on any device. Returns float logits [N, classes] on
// the CPU.
torch::Tensor logits(torch::nn::Sequential& net, const torch::Tensor& images, int64_t batch_size,
                     const data::Normalizer& normalize, train::Precision precision, const torch::Device& device);

}  // namespace dltrain::predict
