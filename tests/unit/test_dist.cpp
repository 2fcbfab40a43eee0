// Data-parallel training on c10d, with both workers as threads of this process (Gloo on loopback):
// 2 workers with the global batch train exactly like 1 worker, step by step; a lost worker is an error, not a hang;
// the launcher's environment; evaluation shards; the first config difference.
#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/data/batches.hpp"
#include "dltrain/dist/gradient_sync.hpp"
#include "dltrain/dist/group.hpp"
#include "dltrain/dist/world.hpp"
#include "dltrain/model/model.hpp"
#include "dltrain/train/device_optim.hpp"
#include "dltrain/train/step_runner.hpp"

#include "catch_compat.hpp"

#include <cmath>
#include <cstdlib>
#include <future>
#include <iostream>
#include <thread>

using namespace dltrain;

namespace {

constexpr int64_t kBatch = 64;
constexpr int kSteps = 50;

config::Config small_config(const std::string& optimizer) {
  return config::parse(nlohmann::json::parse(R"({"model": {"type": "layers", "layers": [
                         {"type": "conv2d", "out_channels": 4, "kernel_size": 3}, {"type": "relu"},
                         {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"},
                         {"type": "linear", "out_features": 32}, {"type": "tanh"},
                         {"type": "linear", "out_features": 10}]},
                       "train": {"optimizer": )" + optimizer + "}}"),
                       "test");
}

// Learnable images: noise plus a bright 6x4 block whose position is the class.
data::Split random_split(int64_t n) {
  torch::manual_seed(11);
  const torch::Tensor labels = torch::randint(0, 10, {n}, torch::kInt64);
  torch::Tensor images = torch::randint(0, 60, {n, 1, 28, 28}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = labels[i].item<int64_t>(), top = 2 + (k / 5) * 12, left = 1 + (k % 5) * 5;
    images[i].slice(1, top, top + 6).slice(2, left, left + 4).fill_(220);
  }
  return {images, labels};
}

dist::World world_of(int rank, int size, int port) {
  dist::World w;
  w.rank = w.local_rank = rank;
  w.size = w.local_size = size;
  w.master_addr = "127.0.0.1";
  w.master_port = port;
  w.launcher = "test";
  return w;
}

struct Trained {
  std::vector<double> losses;  // the global batch's mean loss per step
  std::vector<torch::Tensor> params;
};

// One worker's 50 steps over `order`; with a group, its slice of each global batch and the gradient all-reduce.
Trained train_worker(const config::Config& c, const data::Split& split, const torch::Tensor& order,
                     torch::nn::Sequential net, dist::Group* group, bool overlap = true) {
  train::DeviceOptimizer optimizer(net->parameters(), c.train.optimizer);
  std::unique_ptr<dist::GradientSync> sync;
  train::StepSettings settings;
  if (group != nullptr) {
    sync = std::make_unique<dist::GradientSync>(*group, net->parameters(), overlap, 4096);  // small: several buckets
    settings.sync = sync.get();
  }
  const int rank = group != nullptr ? group->rank() : 0, workers = group != nullptr ? group->size() : 1;
  train::StepRunner steps(net, optimizer, settings, split, kBatch, data::Normalizer{0.1307, 0.3081}, data::Augmenter{},
                          false, rank, workers);
  Trained t;
  for (int64_t s = 0; s < kSteps; ++s) {
    if (sync) sync->begin_step(s + 1, false);
    torch::Tensor loss = steps.run(order, s).loss.clone();
    if (group != nullptr) {
      loss = loss / workers;
      group->all_reduce(loss, "the test's loss sum");
    }
    t.losses.push_back(loss.item<double>());
  }
  for (const auto& p : net->parameters()) t.params.push_back(p.detach().clone());
  return t;
}

torch::nn::Sequential fresh_model(const config::Config& c) {
  torch::manual_seed(3);
  return model::build(c.model, {1, 28, 28}, 10).net;
}

}  // namespace

TEST_CASE("dist: 2 workers with the global batch train like 1 worker, step by step (SGD and Adam)") {
  const data::Split split = random_split(kBatch * kSteps);
  for (const std::string optimizer :
       {R"({"name": "sgd", "lr": 0.05, "momentum": 0.9})", R"({"name": "adam", "lr": 0.002})"}) {
    INFO(optimizer);
    const config::Config c = small_config(optimizer);
    torch::manual_seed(5);
    const torch::Tensor order = torch::randperm(split.size(), torch::kInt64);
    const Trained one = train_worker(c, split, order, fresh_model(c), nullptr);

    for (const bool overlap : {true, false}) {
      INFO("overlap " << overlap);
      const int port = dist::free_loopback_port();
      torch::nn::Sequential nets[2] = {fresh_model(c), fresh_model(c)};  // built here: the seed is process-wide
      std::future<Trained> workers[2];
      for (int r = 0; r < 2; ++r) {
        workers[r] = std::async(std::launch::async, [&, r] {
          dist::Group group(world_of(r, 2, port), config::DistBackend::kGloo, std::chrono::seconds(30), torch::kCPU);
          return train_worker(c, split, order, nets[r], &group, overlap);
        });
      }
      const Trained two[2] = {workers[0].get(), workers[1].get()};
      double worst = 0.0;
      for (int s = 0; s < kSteps; ++s) {
        worst = std::max(worst, std::abs(two[0].losses[s] - one.losses[s]) / std::abs(one.losses[s]));
        CHECK(two[0].losses[s] == two[1].losses[s]);  // both workers know the same global loss
      }
      INFO("largest relative loss difference over 50 steps: " << worst);
      std::cout << "dist equivalence, overlap " << overlap << ": largest relative loss difference over " << kSteps
                << " steps " << worst << "\n";
      CHECK(worst < 1e-5);
      CHECK(one.losses.back() < 0.8 * one.losses.front());  // it learned something: the comparison is not vacuous
      for (size_t i = 0; i < one.params.size(); ++i) {
        CHECK(torch::equal(two[0].params[i], two[1].params[i]));  // the workers' models stay identical
        CHECK(torch::allclose(two[0].params[i], one.params[i], 1e-4, 1e-5));
      }
    }
  }
}

TEST_CASE("dist: a worker that goes away is an error naming the collective, within the timeout") {
  const int port = dist::free_loopback_port();
  std::promise<void> joined;
  std::thread leaver([&] {
    dist::Group group(world_of(1, 2, port), config::DistBackend::kGloo, std::chrono::seconds(5), torch::kCPU);
    joined.set_value();
  });  // its group, and with it the connection, ends here
  dist::Group group(world_of(0, 2, port), config::DistBackend::kGloo, std::chrono::seconds(5), torch::kCPU);
  joined.get_future().wait();
  leaver.join();
  torch::Tensor t = torch::ones({4});
  const auto start = std::chrono::steady_clock::now();
  try {
    group.all_reduce(t, "the gradient all-reduce of step 7");
    FAIL("the all-reduce succeeded without the other worker");
  } catch (const DistributedError& e) {
    CHECK_THAT(e.what(), ContainsText("rank 0:"));
    CHECK_THAT(e.what(), ContainsText("during the gradient all-reduce of step 7"));
    CHECK(e.exit_code() == kExitDistributed);
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(8));
}

TEST_CASE("dist: an unreachable rendezvous fails within the timeout with exit 6") {
  const int port = dist::free_loopback_port();  // nobody serves it
  const auto start = std::chrono::steady_clock::now();
  try {
    dist::Group group(world_of(1, 2, port), config::DistBackend::kGloo, std::chrono::seconds(2), torch::kCPU);
    FAIL("joined a rendezvous that does not exist");
  } catch (const DeviceError& e) {
    CHECK_THAT(e.what(), ContainsText("did not complete within 2 s"));
    CHECK_THAT(e.hint(), ContainsText("MASTER_PORT"));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("dist: the launcher's environment") {
  const char* names[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                         "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE", "DLTRAIN_LAUNCHER"};
  for (const char* n : names) ::unsetenv(n);
  CHECK_FALSE(dist::world_from_environment().distributed());

  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("RANK", "3", 1);
  CHECK_THROWS_WITH(dist::world_from_environment(), ContainsText("MASTER_ADDR is not set"));
  ::setenv("MASTER_ADDR", "node1", 1);
  ::setenv("MASTER_PORT", "29500", 1);
  ::setenv("LOCAL_WORLD_SIZE", "2", 1);
  ::setenv("LOCAL_RANK", "1", 1);
  dist::World w = dist::world_from_environment();
  CHECK(w.rank == 3);
  CHECK(w.size == 4);
  CHECK(w.local_rank == 1);
  CHECK(w.local_size == 2);
  CHECK(w.launcher == "torchrun");
  CHECK(w.rendezvous() == "node1:29500");
  ::setenv("RANK", "4", 1);
  CHECK_THROWS_AS(dist::world_from_environment(), DeviceError);  // RANK must be below WORLD_SIZE
  for (const char* n : names) ::unsetenv(n);

  ::setenv("SLURM_PROCID", "5", 1);
  ::setenv("SLURM_NTASKS", "8", 1);
  ::setenv("SLURM_LOCALID", "1", 1);
  ::setenv("SLURM_NTASKS_PER_NODE", "4(x2)", 1);
  ::setenv("MASTER_ADDR", "node1", 1);
  ::setenv("MASTER_PORT", "29500", 1);
  w = dist::world_from_environment();
  CHECK(w.rank == 5);
  CHECK(w.size == 8);
  CHECK(w.local_rank == 1);
  CHECK(w.local_size == 4);
  CHECK(w.launcher == "slurm");
  for (const char* n : names) ::unsetenv(n);
}

TEST_CASE("dist: evaluation shards cover the split once") {
  const data::Split split = random_split(10);
  int64_t total = 0;
  for (int r = 0; r < 3; ++r) {
    const data::Split part = data::shard(split, r, 3);
    CHECK(torch::equal(part.labels, split.labels.slice(0, total, total + part.size())));
    total += part.size();
  }
  CHECK(total == 10);
}

TEST_CASE("dist: the first key two workers' configs differ in") {
  const nlohmann::json a = {{"config", {{"train", {{"epochs", 2}, {"lr", 0.1}}}}}, {"dltrain", "0.1"}};
  nlohmann::json b = a;
  CHECK(dist::first_difference(a, b).empty());
  b["config"]["train"]["lr"] = 0.2;
  CHECK(dist::first_difference(a, b) == "/config/train/lr");
  b = a;
  b["config"]["train"]["extra"] = true;
  CHECK(dist::first_difference(a, b) == "/config/train/extra");
}
