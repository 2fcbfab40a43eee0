// The workers of a data-parallel run as one c10d process group: a TCPStore rendezvous hosted by rank 0 (env://,
// as torchrun's), then Gloo (CPU tensors over TCP) or NCCL (CUDA tensors). Every collective either completes or
// throws within train.distributed.timeout: DistributedError (exit 10) naming the lost worker where it can tell.
// The c10d headers stay in group.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "dltrain/config/vocabulary.hpp"
#include "dltrain/dist/world.hpp"

namespace dltrain::dist {

// NCCL for CUDA devices and Gloo for the CPU (auto), or the configured one; throws ConfigError (exit 3) for NCCL on a
// CPU device, DeviceError (exit 6) for NCCL in a LibTorch without it.
config::DistBackend choose_backend(config::DistBackend setting, const torch::Device& device);

class Group {
 public:
  // Joins the other workers; a rendezvous not complete within `timeout` throws DeviceError (exit 6) with a hint.
  // `device`: the training device; NCCL works on it, Gloo on the CPU.
  Group(const World& world, config::DistBackend backend, std::chrono::milliseconds timeout,
        const torch::Device& device);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const World& world() const { return world_; }
  int rank() const { return world_.rank; }
  int size() const { return world_.size; }
  std::string backend_name() const;

  // In-place sum over the workers; `what` names the operation in errors ("the training sums"). A tensor that is
  // not where the backend works (the CPU for Gloo, the training device for NCCL) travels there and back.
  void all_reduce(torch::Tensor& tensor, const std::string& what);
  // An in-place sum started now and completed by finish(): a gradient bucket all-reduced while backward goes on.
  // Every worker must start them in the same order.
  struct Pending;
  std::shared_ptr<Pending> start_all_reduce(torch::Tensor& tensor, const std::string& what);
  void finish(const std::shared_ptr<Pending>& pending);
  // Rank 0's values into `tensor` on every worker.
  void broadcast(torch::Tensor& tensor, const std::string& what);
  void barrier(const std::string& what);
  // Whether `flag` is true on any worker.
  bool any(bool flag, const std::string& what);
  // Rank 0's `value` on every worker, through the store (e.g. the run directory rank 0 created).
  std::string share(const std::string& key, const std::string& value);

  // Refuses to start (ConfigError, exit 3, on every worker) when any worker's `description` differs from rank 0's,
  // naming the first worker and the first key (a JSON pointer) that differ.
  void check_same(const nlohmann::json& description);

  // World size, backend, rendezvous and every rank's host, pid and local rank, for the log and report.json.
  nlohmann::json describe() const;

 private:
  [[noreturn]] void lost(const std::exception& error, const std::string& what) const;

  World world_;
  config::DistBackend backend_;
  std::chrono::milliseconds timeout_;
  torch::Device backend_device_;  // where all_reduce() sums: the CPU for Gloo, the training device for NCCL
  struct Impl;
  std::unique_ptr<Impl> impl_;
  nlohmann::json peers_ = nlohmann::json::array();  // [{rank, host, pid, local_rank}] by rank
};

// The first JSON pointer at which `a` and `b` differ (in `a`'s key order, then `b`'s), or "" when they are equal.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace dltrain::dist
