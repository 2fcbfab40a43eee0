// Batches drawn on the training device from whole-split tensors: one randperm per epoch, then an
// index_select and a normalisation per batch. No per-sample Dataset, no collate, no host traffic.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "dltrain/data/datasets.hpp"

namespace dltrain::data {

struct Batch {
  torch::Tensor images;  // float [B, C, H, W], normalised
  torch::Tensor labels;  // int64 [B]
};

// uint8 pixels [B, C, H, W] -> (x / 255 - mean) / std per channel, as `dtype` (float, or double for fp64 runs),
// computed as x * (1 / (255 std)) - mean / std. One value each applies to every channel (gray images).
struct Normalizer {
  std::vector<double> mean{0.0};
  std::vector<double> std{1.0};
  torch::Dtype dtype = torch::kFloat;

  Normalizer() = default;
  Normalizer(double mean, double std, torch::Dtype dtype = torch::kFloat);
  Normalizer(std::vector<double> mean, std::vector<double> std, torch::Dtype dtype = torch::kFloat);
  Normalizer(const Description& trained_on, torch::Dtype dtype);
  torch::Tensor operator()(const torch::Tensor& pixels) const;
};

// Copies a split to `device` once; batches are then cut from it there.
Split to_device(const Split& split, const torch::Device& device);

// Training batches per epoch; the last partial batch is dropped so every step has the same shape.
int64_t train_batches(int64_t examples, int64_t batch_size);

// The b-th batch of the epoch whose order is `perm` (an index tensor on the split's device).
Batch train_batch(const Split& split, const torch::Tensor& perm, int64_t b, int64_t batch_size, const Normalizer& norm);

// The rank-th of `parts` contiguous pieces of `split` (sizes differ by at most one), without copying: a
// data-parallel worker's share of an evaluation.
Split shard(const Split& split, int rank, int parts);
// Where that piece begins in `split`.
int64_t shard_begin(int64_t size, int rank, int parts);

// The b-th batch in order (evaluation), the last one possibly partial.
Batch eval_batch(const Split& split, int64_t b, int64_t batch_size, const Normalizer& norm);

}  // namespace dltrain::data
