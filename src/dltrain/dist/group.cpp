// c10d: TCPStore rendezvous, Gloo or NCCL process group, and errors that say which worker went away.
#include "dltrain/dist/group.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef DLTRAIN_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/core/torch_compat.hpp"

namespace dltrain::dist {
namespace {


// Whether process `pid` on this machine has exited (gone, or a zombie its parent has not reaped yet).
bool process_gone(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const size_t close = line.rfind(')');  // "pid (comm) S ...": the state follows the command name
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] == 'Z' || line[close + 2] == 'X';
}

std::string text_of(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

// Where Gloo's connections go out from: GLOO_SOCKET_IFNAME's interface as in PyTorch, loopback for a loopback
// rendezvous, else the address this host's name resolves to (PyTorch's default device).
std::shared_ptr<::gloo::transport::Device> gloo_device(const World& world) {
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface != nullptr && *interface != '\0') {
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  }
  if (world.master_addr == "127.0.0.1" || world.master_addr == "localhost") {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

config::DistBackend choose_backend(config::DistBackend setting, const torch::Device& device) {
  if (setting == config::DistBackend::kAuto) {
    setting = device.is_cuda() ? config::DistBackend::kNccl : config::DistBackend::kGloo;
  }
  if (setting == config::DistBackend::kNccl && !device.is_cuda()) {
    throw ConfigError("/train/distributed/backend: nccl needs a CUDA device; the device is " + device.str(),
                      "set train.distributed.backend to auto or gloo");
  }
#ifndef DLTRAIN_WITH_NCCL
  if (setting == config::DistBackend::kNccl) {
    throw DeviceError("/train/distributed/backend: this dltrain was built without NCCL",
                      "set train.distributed.backend=gloo, or build against a CUDA LibTorch with NCCL (README)");
  }
#endif
  return setting;
}

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::CollectiveBackend> backend;
};

Group::Group(const World& world, config::DistBackend backend, std::chrono::milliseconds timeout,
             const torch::Device& device)
    : world_(world),
      backend_(backend),
      timeout_(timeout),
      backend_device_(backend == config::DistBackend::kNccl ? device : torch::Device(torch::kCPU)),
      impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(world.master_port);
  options.isServer = world.leader() && !world.agent_store;
  options.numWorkers = static_cast<size_t>(world.size);
  options.waitWorkers = !world.agent_store;
  options.timeout = timeout;
  compat::use_classic_tcp_store(options);
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, options);
    if (world.agent_store) {  // as torch.distributed's env:// rendezvous does under torchrun
      impl_->store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(world.restart_count),
                                                            impl_->store);
    }
  } catch (const std::exception& e) {
    throw DeviceError(format("rank %d: the rendezvous at %s did not complete within %.0f s: %s", world.rank,
                             world.rendezvous().c_str(), timeout.count() / 1000.0, text_of(e).c_str()),
                      "check that every worker got the same MASTER_ADDR and MASTER_PORT, that rank 0 runs and can "
                      "bind that port, and that WORLD_SIZE workers were started");
  }
  try {
    if (backend == config::DistBackend::kNccl) {
#ifdef DLTRAIN_WITH_NCCL
      impl_->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, world.rank, world.size,
                                                                  c10d::ProcessGroupNCCL::Options::create());
#endif
    } else {
      auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
      gloo->devices.push_back(gloo_device(world));
      impl_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, world.rank, world.size, gloo);
    }
  } catch (const std::exception& e) {
    throw DeviceError(format("rank %d: creating the %s process group failed: %s", world.rank, backend_name().c_str(),
                             text_of(e).c_str()),
                      "check that the workers' hosts can reach each other on any TCP port");
  }
  const nlohmann::json me = {{"rank", world.rank}, {"host", host_name()}, {"pid", static_cast<int>(::getpid())},
                             {"local_rank", world.local_rank}};
  const std::string own = me.dump();
  impl_->store->set("peer/" + std::to_string(world.rank), std::vector<uint8_t>(own.begin(), own.end()));
  for (int r = 0; r < world.size; ++r) {
    const std::vector<uint8_t> bytes = impl_->store->get("peer/" + std::to_string(r));
    peers_.push_back(nlohmann::json::parse(std::string(bytes.begin(), bytes.end())));
  }
}

Group::~Group() = default;

std::string Group::backend_name() const { return config::distributed_backends().name(backend_); }

void Group::all_reduce(torch::Tensor& tensor, const std::string& what) {
  torch::Tensor there = tensor.device() == backend_device_ ? tensor : tensor.to(backend_device_);
  finish(start_all_reduce(there, what));
  if (!there.is_same(tensor)) tensor.copy_(there);
}

struct Group::Pending {
  c10::intrusive_ptr<c10d::Work> work;
  std::string what;
};

std::shared_ptr<Group::Pending> Group::start_all_reduce(torch::Tensor& tensor, const std::string& what) {
  try {
    std::vector<torch::Tensor> one{tensor};
    return std::make_shared<Pending>(Pending{impl_->backend->allreduce(one), what});
  } catch (const std::exception& e) {
    lost(e, what);
  }
}

void Group::finish(const std::shared_ptr<Pending>& pending) {
  try {
    pending->work->wait(timeout_);
  } catch (const std::exception& e) {
    lost(e, pending->what);
  }
}

void Group::broadcast(torch::Tensor& tensor, const std::string& what) {
  try {
    std::vector<torch::Tensor> one{tensor};
    impl_->backend->broadcast(one)->wait(timeout_);
  } catch (const std::exception& e) {
    lost(e, what);
  }
}

// An all-reduce of one number: c10d's barrier() guesses the device for NCCL, this one does not.
void Group::barrier(const std::string& what) { any(false, what); }

bool Group::any(bool flag, const std::string& what) {
  torch::Tensor t = torch::full({1}, flag ? 1 : 0, torch::TensorOptions().dtype(torch::kInt32).device(backend_device_));
  all_reduce(t, what);
  return t.item<int>() > 0;
}

std::string Group::share(const std::string& key, const std::string& value) {
  try {
    if (world_.leader()) impl_->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
    const std::vector<uint8_t> bytes = impl_->store->get(key);
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::exception& e) {
    lost(e, "waiting for rank 0's " + key);
  }
}

void Group::check_same(const nlohmann::json& description) {
  const std::string own = description.dump();
  std::vector<nlohmann::json> all;
  try {
    impl_->store->set("config/" + std::to_string(rank()), std::vector<uint8_t>(own.begin(), own.end()));
    for (int r = 0; r < size(); ++r) {
      const std::vector<uint8_t> bytes = impl_->store->get("config/" + std::to_string(r));
      all.push_back(nlohmann::json::parse(std::string(bytes.begin(), bytes.end())));
    }
  } catch (const std::exception& e) {
    lost(e, "comparing the workers' configs");
  }
  for (int r = 1; r < size(); ++r) {
    const std::string key = first_difference(all[0], all[static_cast<size_t>(r)]);
    if (key.empty()) continue;
    const nlohmann::json::json_pointer at(key);
    const auto value = [&](const nlohmann::json& j) {
      return j.contains(at) ? j.at(at).dump() : std::string("(none)");
    };
    throw ConfigError(format("the workers were started differently: %s is %s on rank 0 and %s on rank %d",
                             key.c_str(), value(all[0]).c_str(), value(all[static_cast<size_t>(r)]).c_str(), r),
                      "start every worker with the same dltrain, config file, --set options and --resume");
  }
}

nlohmann::json Group::describe() const {
  return {{"world_size", size()},      {"backend", backend_name()},   {"launcher", world_.launcher},
          {"rendezvous", world_.rendezvous()}, {"timeout_s", timeout_.count() / 1000.0}, {"ranks", peers_}};
}

void Group::lost(const std::exception& error, const std::string& what) const {
  // A killed worker's connections close while the kernel is still tearing the process down: give a peer on this
  // host up to a second to show as gone before concluding that none is.
  std::string gone;
  const std::string here = host_name();
  for (int attempt = 0; attempt < 20 && gone.empty(); ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (const nlohmann::json& p : peers_) {
      if (p["rank"] == rank() || p["host"] != here || !process_gone(p["pid"].get<int>())) continue;
      gone += format("%srank %d (pid %d)", gone.empty() ? "" : ", ", p["rank"].get<int>(), p["pid"].get<int>());
    }
  }
  const std::string who = gone.empty() ? "a worker stopped answering or went away" : "lost " + gone;
  throw DistributedError(format("rank %d: %s during %s: %s", rank(), who.c_str(), what.c_str(), text_of(error).c_str()),
                         "the other workers' output says more; the run's checkpoints are intact: continue it with "
                         "dltrain train --resume RUN_DIR (with the same --nproc, or any number of workers)");
}

std::string first_difference(const nlohmann::json& a, const nlohmann::json& b) {
  const nlohmann::json fa = a.flatten(), fb = b.flatten();
  for (auto it = fa.begin(); it != fa.end(); ++it) {
    if (!fb.contains(it.key()) || fb[it.key()] != it.value()) return it.key();
  }
  for (auto it = fb.begin(); it != fb.end(); ++it) {
    if (!fa.contains(it.key())) return it.key();
  }
  return "";
}

}  // namespace dltrain::dist
