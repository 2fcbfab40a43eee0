// Device resolution, threads, allocator tuning and environment facts.
#include "dltrain/device/device.hpp"

#include <malloc.h>
#include <sched.h>
#include <sys/resource.h>

#include <cstdlib>
#include <fstream>

#include "dltrain/core/error.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/core/torch_compat.hpp"

namespace dltrain::device {
namespace {

bool g_allocator_tuned = false;

}  // namespace

void tune_allocator() {
  const char* choice = std::getenv("DLTRAIN_ALLOCATOR");
  if (choice != nullptr && std::string(choice) == "system") return;
  // 32 MiB is glibc's largest mmap threshold: below it buffers come from the heap and are reused.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  mallopt(M_TOP_PAD, 64 * 1024 * 1024);
  g_allocator_tuned = true;
}

bool allocator_tuned() { return g_allocator_tuned; }

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

// Which BLAS the dynamic linker bound: the libblas.so.3 alternative decides, so read the mapped path.
std::string blas_library() {
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    const auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    const std::string path = line.substr(pos);
    if (path.find("openblas") != std::string::npos || path.find("libblas") != std::string::npos ||
        path.find("mkl") != std::string::npos || path.find("blis") != std::string::npos) {
      return path;
    }
  }
  return "unknown";
}

torch::Device resolve(const std::string& name) {
  const bool has_cuda = torch::cuda::is_available();
  if (name == "auto") {
    if (has_cuda) return torch::Device(torch::kCUDA, 0);
    log::info("device: auto -> cpu (" + std::string(compat::kHasCudaBuild ? "no CUDA device found" : "this build has no CUDA") + ")");
    return torch::Device(torch::kCPU);
  }
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!has_cuda) {
      throw DeviceError("device '" + name + "' requested, but " +
                            (compat::kHasCudaBuild ? "no CUDA device is visible" : "this dltrain build has no CUDA support"),
                        compat::kHasCudaBuild ? "check `nvidia-smi` and CUDA_VISIBLE_DEVICES, or use --device cpu"
                                              : "use --device cpu (or auto), or build dltrain against a CUDA LibTorch");
    }
    int index = 0;
    if (name.size() > 5) {
      const std::string digits = name.substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
        throw DeviceError("unknown device '" + name + "'", "use auto, cpu, cuda or cuda:N");
      }
      index = std::stoi(digits);
    }
    const auto count = static_cast<int>(torch::cuda::device_count());
    if (index >= count) {
      throw DeviceError("device '" + name + "' does not exist: " + std::to_string(count) + " CUDA device(s) visible",
                        "use cuda:0.." + std::to_string(count - 1));
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw DeviceError("unknown device '" + name + "'", "use auto, cpu, cuda or cuda:N");
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

int configure_threads(int64_t requested) {
  const int threads = requested > 0 ? static_cast<int>(requested) : available_cores();
  torch::set_num_threads(threads);
  return torch::get_num_threads();
}

std::string cuda_version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

nlohmann::json environment(const torch::Device& device) {
  nlohmann::json env;
  env["dltrain_version"] = DLTRAIN_VERSION;
  env["libtorch_version"] = compat::torch_version();
  env["cuda_build"] = compat::kHasCudaBuild;
  env["device"] = device.str();
  env["device_name"] = device.is_cuda() ? compat::cuda_device_name(device.index()) : cpu_model();
  env["cpu_model"] = cpu_model();
  env["cores_available"] = available_cores();
  env["threads"] = torch::get_num_threads();
  env["blas"] = blas_library();
  env["allocator"] = allocator_tuned() ? "glibc, tuned (mmap threshold 32 MiB, no trimming)" : "glibc defaults";
  env["mkldnn"] = torch::cuda::is_available() ? false : at::hasMKLDNN();
  const auto version = [](const std::optional<int>& v) { return v ? nlohmann::json(cuda_version_text(*v)) : nlohmann::json(nullptr); };
  env["libtorch_cuda"] = version(compat::cuda_built_version());
  env["cuda_runtime"] = version(compat::cuda_runtime_version());
  env["cudnn"] = at::globalContext().hasCuDNN() ? nlohmann::json(at::detail::getCUDAHooks().versionCuDNN()) : nlohmann::json(nullptr);
  return env;
}

MonitorOptions monitor_options(const torch::Device& device, double interval_s) {
  MonitorOptions options;
  options.interval_s = interval_s;
  if (!device.is_cuda() || interval_s <= 0) return options;
  options.nvml = nvml::Library::open();
  if (!options.nvml->ok()) {
    log::warn("GPU monitoring off: " + options.nvml->error());
    return options;
  }
  options.gpu = options.nvml->index_of_bus_id(compat::cuda_pci_bus_id(device.index()))
                    .value_or(static_cast<unsigned>(device.index()));
  return options;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

bool is_out_of_memory(const c10::Error& error) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&error) != nullptr) return true;
  const std::string what = error.what_without_backtrace();
  return what.find("out of memory") != std::string::npos || what.find("not enough memory") != std::string::npos ||
         what.find("can't allocate memory") != std::string::npos;
}

}  // namespace dltrain::device
