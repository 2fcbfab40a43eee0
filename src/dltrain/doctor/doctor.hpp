// `dltrain doctor`: the facts that decide deep-learning speed on this machine (versions, CPU, GPUs, BLAS,
// threads, allocator, data) and checks on them, each PASS / WARN / FAIL / SKIP with a one-line fix.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dltrain/device/nvml.hpp"

namespace dltrain::doctor {

struct GpuFacts {
  device::nvml::GpuInfo nvml;       // from the driver
  std::optional<int> sm_count;      // from the CUDA runtime (CUDA builds only)
  std::optional<bool> kernel_runs;  // a LibTorch kernel ran on it (CUDA builds only)
  std::string kernel_error;
};

struct Facts {
  // Versions. CUDA versions are encoded as 1000 * major + 10 * minor (12040 = 12.4), as CUDA does.
  std::string dltrain_version, build_type, compiler, libtorch_version;
  bool optimized_build = true;
  std::optional<int> torch_cuda_version;    // the CUDA LibTorch was built for; empty: CPU-only LibTorch
  std::optional<int> cuda_runtime_version;
  std::optional<long> cudnn_version;        // 90100 = 9.1.0
  int cuda_devices = 0;                     // devices LibTorch can use
  // The driver, through NVML.
  bool nvml_ok = false;
  std::string nvml_error, nvml_library, driver_version;
  std::optional<int> driver_cuda_version;  // highest CUDA the driver supports
  // Hardware.
  std::string cpu_model;
  int physical_cores = 0, logical_cores = 0, available_cores = 0;
  std::optional<double> cgroup_cpus;  // a container's CPU quota, when one is set
  double memory_total_mib = 0, memory_available_mib = 0;
  std::vector<GpuFacts> gpus;
  // Settings.
  std::string blas;
  bool blas_in_libtorch = false;  // MKL linked into LibTorch itself (pytorch.org builds)
  int torch_default_threads = 0, dltrain_threads = 0;
  bool allocator_tuned = false;
  std::string cuda_alloc_conf;  // $PYTORCH_CUDA_ALLOC_CONF
  // Training data.
  std::string dataset, data_root, data_problem;  // data_problem: why it is not usable (empty: fine)
  bool data_found = false, data_verified = false, data_corrupt = false;
};

enum class Status { kPass, kWarn, kFail, kSkip };
const char* to_string(Status status);

struct Check {
  std::string name;
  Status status = Status::kPass;
  std::string message;
  std::string fix;  // what to do, for WARN and FAIL
};

struct Options {
  std::string dataset = "mnist";
  std::string data_dir;  // empty: the usual search ($DLTRAIN_DATA_DIR/<dataset>, ./data/<dataset>, ...)
  bool require_cuda = false;
};

Facts gather(const Options& options);
std::vector<Check> run_checks(const Facts& facts, const Options& options);

// The oldest NVIDIA driver that supports CUDA `major`.x, as NVIDIA documents it ("525.60.13" for 12).
std::string minimum_driver_for_cuda(int major);

// One object: versions, hardware, settings, data, checks, summary (see README, "dltrain doctor").
nlohmann::json to_json(const Facts& facts, const std::vector<Check>& checks);
// The same for a terminal.
std::string to_text(const Facts& facts, const std::vector<Check>& checks);

// 0 when nothing failed; kExitDevice when --require cuda is not met; kExitCheck for any other FAIL.
int exit_code(const std::vector<Check>& checks);

}  // namespace dltrain::doctor
