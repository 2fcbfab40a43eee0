// Device-resident batches (docs/ARCHITECTURE.md, "The path of a batch").
#include "dltrain/data/batches.hpp"

namespace dltrain::data {

torch::Tensor Normalizer::operator()(const torch::Tensor& pixels) const {
  return pixels.to(dtype).mul_(1.0 / (255.0 * std)).sub_(mean / std);
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
