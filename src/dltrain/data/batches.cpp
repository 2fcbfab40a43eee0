// Device-resident batches (docs/ARCHITECTURE.md, "The path of a batch").
#include "dltrain/data/batches.hpp"

#include "dltrain/core/error.hpp"

namespace dltrain::data {

Normalizer::Normalizer(double m, double s, torch::Dtype d) : mean{m}, std{s}, dtype(d) {}

Normalizer::Normalizer(std::vector<double> m, std::vector<double> s, torch::Dtype d)
    : mean(std::move(m)), std(std::move(s)), dtype(d) {
  if (mean.empty() || mean.size() != std.size()) {
    throw DataError("normalisation statistics: " + std::to_string(mean.size()) + " means and " +
                        std::to_string(std.size()) + " standard deviations",
                    "this is a bug: one value per channel, or one for all");
  }
}

Normalizer::Normalizer(const Description& trained_on, torch::Dtype d) : Normalizer(trained_on.mean, trained_on.std, d) {}

// Scalar operations per channel (on views): nothing is copied from the host, so a captured CUDA graph replays it.
torch::Tensor Normalizer::operator()(const torch::Tensor& pixels) const {
  torch::Tensor x = pixels.to(dtype);
  if (mean.size() == 1) return x.mul_(1.0 / (255.0 * std[0])).sub_(mean[0] / std[0]);
  for (size_t c = 0; c < mean.size(); ++c) {
    x.select(1, static_cast<int64_t>(c)).mul_(1.0 / (255.0 * std[c])).sub_(mean[c] / std[c]);
  }
  return x;
}

Split to_device(const Split& split, const torch::Device& device) {
  return {split.images.to(device), split.labels.to(device)};
}

int64_t train_batches(int64_t examples, int64_t batch_size) { return examples / batch_size; }

Batch train_batch(const Split& split, const torch::Tensor& perm, int64_t b, int64_t batch_size, const Normalizer& norm) {
  const torch::Tensor idx = perm.slice(0, b * batch_size, (b + 1) * batch_size);
  return {norm(split.images.index_select(0, idx)), split.labels.index_select(0, idx)};
}

int64_t shard_begin(int64_t size, int rank, int parts) { return size * rank / parts; }

Split shard(const Split& split, int rank, int parts) {
  const int64_t begin = shard_begin(split.size(), rank, parts), end = shard_begin(split.size(), rank + 1, parts);
  return {split.images.slice(0, begin, end), split.labels.slice(0, begin, end)};
}

Batch eval_batch(const Split& split, int64_t b, int64_t batch_size, const Normalizer& norm) {
  const int64_t begin = b * batch_size;
  const int64_t end = std::min(begin + batch_size, split.size());
  return {norm(split.images.slice(0, begin, end)), split.labels.slice(0, begin, end)};
}

}  // namespace dltrain::data
