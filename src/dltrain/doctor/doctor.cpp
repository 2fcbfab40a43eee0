// Gathering the facts, deciding the checks, and printing both.
#include "dltrain/doctor/doctor.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/torch_compat.hpp"
#include "dltrain/data/datasets.hpp"
#include "dltrain/data/fetch.hpp"
#include "dltrain/device/device.hpp"

namespace dltrain::doctor {
namespace {

using device::cuda_version_text;

// Physical cores: distinct (physical id, core id) pairs in /proc/cpuinfo; VMs that omit them count logical.
int physical_cores(int logical) {
  std::ifstream in("/proc/cpuinfo");
  std::string line, package;
  std::set<std::pair<std::string, std::string>> cores;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (line.rfind("physical id", 0) == 0) package = value;
    if (line.rfind("core id", 0) == 0) cores.insert({package, value});
  }
  return cores.empty() ? logical : static_cast<int>(cores.size());
}

// Total and available memory from /proc/meminfo, in MiB.
std::pair<double, double> memory_mib() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0, total = 0, available = 0;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemTotal:") total = kib / 1024.0;
    if (key == "MemAvailable:") available = kib / 1024.0;
  }
  return {total, available};
}

// A container's CPU limit: cgroup v2 cpu.max ("200000 100000" = 2 CPUs), else v1's CFS quota.
std::optional<double> cgroup_cpus() {
  std::ifstream v2("/sys/fs/cgroup/cpu.max");
  std::string quota;
  double period = 0;
  if (v2 >> quota >> period) {
    if (quota == "max" || period <= 0) return std::nullopt;
    return std::stod(quota) / period;
  }
  std::ifstream q("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), p("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double quota_us = -1, period_us = 0;
  if (q >> quota_us && p >> period_us && quota_us > 0 && period_us > 0) return quota_us / period_us;
  return std::nullopt;
}

std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

void gather_data(const Options& options, Facts& f) {
  f.dataset = options.dataset;
  const data::DatasetInfo& info = data::dataset_info(options.dataset);
  try {
    f.data_root = data::locate_root(info, options.data_dir).string();
  } catch (const DataError& e) {
    f.data_problem = e.what();
    return;
  }
  f.data_found = true;
  f.data_verified = true;
  for (const data::FileCheck& file : data::verify_dataset(info, f.data_root)) {
    if (file.ok) continue;
    f.data_verified = false;
    if (!file.present) {
      f.data_problem += (f.data_problem.empty() ? "" : "; ") + file.name + " missing";
    } else if (file.path.extension() == ".gz") {
      f.data_corrupt = true;
      f.data_problem += (f.data_problem.empty() ? "" : "; ") + file.path.filename().string() + " fails its SHA-256";
    } else {
      f.data_problem += (f.data_problem.empty() ? "" : "; ") + file.path.filename().string() +
                        " is raw (checksums are published for the .gz files)";
    }
  }
}

std::string mib_text(double mib) { return mib >= 1024.0 ? format("%.1f GiB", mib / 1024.0) : format("%.0f MiB", mib); }

template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

bool gpu_usable(const Facts& f) {
  if (f.cuda_devices == 0) return false;
  for (const GpuFacts& g : f.gpus) {
    if (g.kernel_runs.value_or(false)) return true;
  }
  return false;
}

// The checks, one function each, in the order run_checks lists them. Each appends its result to `checks`.

void add(std::vector<Check>& checks, std::string name, Status status, std::string message, std::string fix = "") {
  checks.push_back({std::move(name), status, std::move(message), std::move(fix)});
}

// Whether LibTorch was built with CUDA (empty torch_cuda_version: a CPU-only LibTorch).
bool cuda_build(const Facts& f) { return f.torch_cuda_version.has_value(); }

void check_build(const Facts& f, std::vector<Check>& checks) {
  if (f.optimized_build) {
    add(checks, "build", Status::kPass, f.build_type + " build, optimised (" + f.compiler + ")");
  } else {
    add(checks, "build", Status::kWarn, f.build_type + " build without optimisation: training runs several times slower",
        "rebuild with -DCMAKE_BUILD_TYPE=Release (the default)");
  }
}

void check_blas(const Facts& f, std::vector<Check>& checks) {
  const bool reference_blas = f.blas.find("/blas/libblas") != std::string::npos;
  if (f.blas_in_libtorch) {
    add(checks, "blas", Status::kPass, "MKL, linked into LibTorch");
  } else if (reference_blas) {
    add(checks, "blas", Status::kWarn, "the reference BLAS is in use (" + f.blas + "): linear layers run about 4x slower",
        "apt-get install libopenblas0-openmp (Debian switches libblas.so.3 to it)");
  } else if (f.blas == "unknown") {
    add(checks, "blas", Status::kWarn, "no BLAS library found in this process", "install libopenblas0-openmp");
  } else {
    add(checks, "blas", Status::kPass, "optimised BLAS: " + f.blas);
  }
}

// A container CPU quota well below the visible cores means dltrain's default thread count oversubscribes it.
void check_threads(const Facts& f, std::vector<Check>& checks) {
  if (f.cgroup_cpus && *f.cgroup_cpus + 0.5 < f.available_cores) {
    add(checks, "threads", Status::kWarn,
        format("a container CPU quota of %.1f CPUs, but %d cores are visible: %d threads would oversubscribe the quota",
               *f.cgroup_cpus, f.available_cores, f.dltrain_threads),
        "pass --threads " + std::to_string(std::max(1, static_cast<int>(*f.cgroup_cpus))) + " (or set train.threads)");
  } else {
    add(checks, "threads", Status::kPass,
        format("dltrain uses %d intra-op thread(s) = the cores available to it (%d logical, %d physical); "
               "LibTorch alone would use %d",
               f.dltrain_threads, f.logical_cores, f.physical_cores, f.torch_default_threads));
  }
}

void check_allocator(const Facts& f, std::vector<Check>& checks) {
  if (f.allocator_tuned) {
    add(checks, "allocator", Status::kPass, "glibc malloc tuned by dltrain (no mmap/trim churn for tensor buffers)");
  } else {
    add(checks, "allocator", Status::kWarn,
        "glibc malloc defaults (DLTRAIN_ALLOCATOR=system): large tensors are mapped and unmapped every step, "
        "measured 2.5x slower on CPU",
        "unset DLTRAIN_ALLOCATOR");
  }
}

void check_memory(const Facts& f, std::vector<Check>& checks) {
  const std::string text = mib_text(f.memory_available_mib) + " available of " + mib_text(f.memory_total_mib);
  if (f.memory_available_mib < 2048.0) {
    add(checks, "memory", Status::kWarn, text, "close other programs: a full MNIST run needs about 1 GiB");
  } else {
    add(checks, "memory", Status::kPass, text);
  }
}

// The NVIDIA driver, as NVML reports it.
void check_driver(const Facts& f, std::vector<Check>& checks) {
  if (!f.nvml_ok) {
    const bool missing = f.nvml_error.find("not found") != std::string::npos;
    if (missing && !cuda_build(f)) {
      add(checks, "driver", Status::kSkip,
          "no NVIDIA driver (" + f.nvml_library + " not found): this build trains on the CPU");
    } else {
      add(checks, "driver", Status::kWarn, f.nvml_error,
          missing ? "install the NVIDIA driver to train on a GPU"
                  : "check `nvidia-smi`; after a driver update, reboot (or reload the nvidia module)");
    }
  } else {
    add(checks, "driver", Status::kPass,
        "NVIDIA driver " + f.driver_version +
            (f.driver_cuda_version ? " (supports CUDA up to " + cuda_version_text(*f.driver_cuda_version) + ")" : "") + ", " +
            std::to_string(f.gpus.size()) + " GPU(s)");
  }
}

// The driver must support the CUDA major version LibTorch was built for; an older minor version still runs.
void check_driver_cuda(const Facts& f, std::vector<Check>& checks) {
  if (!cuda_build(f)) {
    add(checks, "driver_cuda", Status::kSkip, "LibTorch is CPU-only: no CUDA version to match");
    return;
  }
  if (!f.driver_cuda_version) {
    add(checks, "driver_cuda", Status::kSkip, "the driver's CUDA version is unknown (no NVML)");
    return;
  }
  const int need = *f.torch_cuda_version, have = *f.driver_cuda_version;
  const std::string both = "the driver supports CUDA " + cuda_version_text(have) + ", LibTorch was built for CUDA " +
                           cuda_version_text(need);
  if (have / 1000 < need / 1000) {
    add(checks, "driver_cuda", Status::kFail, both + ": the driver is too old",
        "install NVIDIA driver " + minimum_driver_for_cuda(need / 1000) + " or newer (or use a LibTorch built for CUDA " +
            std::to_string(have / 1000) + ")");
  } else if (have < need) {
    add(checks, "driver_cuda", Status::kWarn, both + ": runs through minor-version compatibility (no PTX JIT)",
        "update the NVIDIA driver to one that supports CUDA " + cuda_version_text(need));
  } else {
    add(checks, "driver_cuda", Status::kPass, both);
  }
}

// Whether LibTorch can use the GPUs the driver sees.
void check_cuda(const Facts& f, std::vector<Check>& checks) {
  if (!cuda_build(f)) {
    if (f.gpus.empty()) {
      add(checks, "cuda", Status::kSkip, "CPU-only LibTorch and no NVIDIA GPU");
    } else {
      add(checks, "cuda", Status::kWarn,
          std::to_string(f.gpus.size()) + " NVIDIA GPU(s) present, but this dltrain is built on a CPU-only LibTorch",
          "build against a CUDA LibTorch (README: \"CUDA build\") to train on the GPU");
    }
  } else if (f.cuda_devices == 0) {
    add(checks, "cuda", f.gpus.empty() ? Status::kWarn : Status::kFail,
        f.gpus.empty() ? "CUDA LibTorch, but no GPU is visible" : "the driver sees GPUs, but LibTorch cannot use them",
        "check `nvidia-smi` and CUDA_VISIBLE_DEVICES");
  } else {
    add(checks, "cuda", Status::kPass,
        "CUDA runtime " + (f.cuda_runtime_version ? cuda_version_text(*f.cuda_runtime_version) : std::string("?")) + ", " +
            std::to_string(f.cuda_devices) + " device(s) usable");
  }
}

void check_cudnn(const Facts& f, std::vector<Check>& checks) {
  if (!cuda_build(f)) {
    add(checks, "cudnn", Status::kSkip, "CPU-only LibTorch");
  } else if (f.cudnn_version) {
    add(checks, "cudnn", Status::kPass, "cuDNN " + std::to_string(*f.cudnn_version));
  } else {
    add(checks, "cudnn", Status::kFail, "cuDNN is not available to LibTorch: convolutions fall back to slow kernels",
        "install the cuDNN that matches LibTorch's CUDA (the pytorch.org archive bundles it)");
  }
}

// One check per GPU on which gather() ran a LibTorch kernel: a failure means no kernels for its architecture.
void check_gpu_arch(const Facts& f, std::vector<Check>& checks) {
  bool any_gpu_checked = false;
  for (const GpuFacts& g : f.gpus) {
    if (!g.kernel_runs) continue;
    any_gpu_checked = true;
    const std::string arch = g.nvml.cc_major ? "sm_" + std::to_string(*g.nvml.cc_major) + std::to_string(g.nvml.cc_minor.value_or(0))
                                             : std::string("this GPU's architecture");
    const std::string name = "gpu_arch." + std::to_string(g.nvml.index);
    if (*g.kernel_runs) {
      add(checks, name, Status::kPass, g.nvml.name + ": LibTorch's kernels run on " + arch);
    } else {
      add(checks, name, Status::kFail, g.nvml.name + ": LibTorch has no kernels for " + arch + " (" + g.kernel_error + ")",
          "use a LibTorch/CUDA build whose architecture list includes " + arch);
    }
  }
  if (!any_gpu_checked) add(checks, "gpu_arch", Status::kSkip, "no GPU that LibTorch can use");
}

void check_data(const Facts& f, std::vector<Check>& checks) {
  if (f.data_verified) {
    add(checks, "data", Status::kPass, f.dataset + " at " + f.data_root + ": all 4 files match their SHA-256");
  } else if (!f.data_found) {
    add(checks, "data", Status::kWarn, f.data_problem.substr(0, f.data_problem.find('\n')),
        "dltrain data fetch " + f.dataset + " (or set DLTRAIN_DATA_DIR / --data-dir)");
  } else {
    add(checks, "data", f.data_corrupt ? Status::kFail : Status::kWarn, f.dataset + " at " + f.data_root + ": " + f.data_problem,
        "dltrain data fetch " + f.dataset + " --root " + f.data_root + " (downloads the bad files again)");
  }
}

// --require cuda: FAIL unless a GPU ran a LibTorch kernel.
void check_require_cuda(const Facts& f, std::vector<Check>& checks) {
  if (gpu_usable(f)) {
    add(checks, "require_cuda", Status::kPass, "a usable CUDA GPU is present");
  } else {
    add(checks, "require_cuda", Status::kFail,
        cuda_build(f) ? "--require cuda: no GPU that LibTorch can use" : "--require cuda: this dltrain build is CPU-only",
        cuda_build(f) ? "see the cuda and driver checks above" : "build against a CUDA LibTorch (README: \"CUDA build\")");
  }
}

}  // namespace

const char* to_string(Status status) {
  switch (status) {
    case Status::kPass: return "PASS";
    case Status::kWarn: return "WARN";
    case Status::kFail: return "FAIL";
    case Status::kSkip: return "SKIP";
  }
  return "?";
}

std::string minimum_driver_for_cuda(int major) {
  if (major <= 10) return "410.48";
  if (major == 11) return "450.80.02";
  if (major == 12) return "525.60.13";
  return "580.65.06";  // CUDA 13
}

Facts gather(const Options& options) {
  Facts f;
  f.dltrain_version = DLTRAIN_VERSION;
  f.build_type = *DLTRAIN_BUILD_TYPE != '\0' ? DLTRAIN_BUILD_TYPE : "no build type";
#ifdef __OPTIMIZE__
  f.optimized_build = true;
#else
  f.optimized_build = false;
#endif
  f.compiler = compiler();
  f.libtorch_version = compat::torch_version();
  f.torch_cuda_version = compat::cuda_built_version();
  f.cuda_runtime_version = compat::cuda_runtime_version();
  if (at::globalContext().hasCuDNN()) f.cudnn_version = at::detail::getCUDAHooks().versionCuDNN();
  f.cuda_devices = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;

  const auto nvml = device::nvml::Library::open();
  f.nvml_ok = nvml->ok();
  f.nvml_error = nvml->error();
  f.nvml_library = nvml->path();
  f.driver_version = nvml->driver_version();
  f.driver_cuda_version = nvml->cuda_driver_version();
  for (unsigned i = 0; i < nvml->device_count(); ++i) {
    GpuFacts g;
    g.nvml = nvml->info(i);
    f.gpus.push_back(g);
  }
  // LibTorch's device order (CUDA_VISIBLE_DEVICES) may differ from NVML's: match them by PCI bus id.
  for (int c = 0; c < f.cuda_devices; ++c) {
    const std::optional<unsigned> at = nvml->index_of_bus_id(compat::cuda_pci_bus_id(c));
    size_t i = at ? *at : static_cast<size_t>(c);
    if (i >= f.gpus.size()) {  // NVML absent (e.g. a container without it) or not listing this GPU
      GpuFacts g;
      g.nvml.index = static_cast<unsigned>(c);
      g.nvml.name = compat::cuda_device_name(c);
      f.gpus.push_back(g);
      i = f.gpus.size() - 1;
    }
    f.gpus[i].sm_count = compat::cuda_sm_count(c);
    try {
      const auto ones = torch::ones({256}, torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(c)));
      f.gpus[i].kernel_runs = (ones * 2).sum().item<double>() == 512.0;
    } catch (const c10::Error& e) {
      f.gpus[i].kernel_runs = false;
      f.gpus[i].kernel_error = e.what_without_backtrace();
    }
  }

  f.cpu_model = device::cpu_model();
  f.logical_cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  f.physical_cores = physical_cores(f.logical_cores);
  f.available_cores = device::available_cores();
  f.cgroup_cpus = cgroup_cpus();
  std::tie(f.memory_total_mib, f.memory_available_mib) = memory_mib();

  f.blas = device::blas_library();
  f.blas_in_libtorch = at::hasMKL();
  f.torch_default_threads = torch::get_num_threads();  // nothing has set it yet in this process
  f.dltrain_threads = f.available_cores;               // train.threads = 0 (the default)
  f.allocator_tuned = device::allocator_tuned();
  if (const char* conf = std::getenv("PYTORCH_CUDA_ALLOC_CONF")) f.cuda_alloc_conf = conf;
  gather_data(options, f);
  return f;
}

std::vector<Check> run_checks(const Facts& f, const Options& options) {
  std::vector<Check> checks;
  check_build(f, checks);
  check_blas(f, checks);
  check_threads(f, checks);
  check_allocator(f, checks);
  check_memory(f, checks);
  check_driver(f, checks);
  check_driver_cuda(f, checks);
  check_cuda(f, checks);
  check_cudnn(f, checks);
  check_gpu_arch(f, checks);
  check_data(f, checks);
  if (options.require_cuda) check_require_cuda(f, checks);
  return checks;
}

nlohmann::json to_json(const Facts& f, const std::vector<Check>& checks) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const GpuFacts& g : f.gpus) {
    const auto& n = g.nvml;
    gpus.push_back({{"index", n.index},
                    {"name", n.name},
                    {"memory_total_mib", or_null(n.memory_total_mib)},
                    {"memory_free_mib", or_null(n.memory_free_mib)},
                    {"compute_capability", n.cc_major ? nlohmann::json(std::to_string(*n.cc_major) + "." +
                                                                       std::to_string(n.cc_minor.value_or(0)))
                                                      : nlohmann::json(nullptr)},
                    {"sm_count", or_null(g.sm_count)},
                    {"sm_clock_mhz", or_null(n.sm_clock_mhz)},
                    {"sm_clock_max_mhz", or_null(n.sm_clock_max_mhz)},
                    {"memory_clock_max_mhz", or_null(n.memory_clock_max_mhz)},
                    {"power_limit_w", or_null(n.power_limit_w)},
                    {"pcie", {{"generation", or_null(n.pcie_gen)}, {"width", or_null(n.pcie_width)},
                              {"generation_max", or_null(n.pcie_gen_max)}, {"width_max", or_null(n.pcie_width_max)}}},
                    {"temperature_c", or_null(n.temperature_c)},
                    {"libtorch_kernels_run", or_null(g.kernel_runs)}});
  }
  const auto cuda_text = [](const std::optional<int>& v) { return v ? nlohmann::json(cuda_version_text(*v)) : nlohmann::json(nullptr); };
  nlohmann::json out;
  out["versions"] = {{"dltrain", f.dltrain_version},
                     {"build_type", f.build_type},
                     {"optimized", f.optimized_build},
                     {"compiler", f.compiler},
                     {"libtorch", f.libtorch_version},
                     {"libtorch_cuda", cuda_text(f.torch_cuda_version)},
                     {"cuda_runtime", cuda_text(f.cuda_runtime_version)},
                     {"cudnn", or_null(f.cudnn_version)},
                     {"driver", f.driver_version.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.driver_version)},
                     {"driver_cuda", cuda_text(f.driver_cuda_version)},
                     {"nvml", {{"library", f.nvml_library}, {"ok", f.nvml_ok}, {"error", f.nvml_error}}}};
  out["hardware"] = {{"cpu", {{"model", f.cpu_model}, {"physical_cores", f.physical_cores},
                              {"logical_cores", f.logical_cores}, {"available_cores", f.available_cores},
                              {"cgroup_cpus", or_null(f.cgroup_cpus)}}},
                     {"memory", {{"total_mib", f.memory_total_mib}, {"available_mib", f.memory_available_mib}}},
                     {"cuda_devices", f.cuda_devices},
                     {"gpus", gpus}};
  out["settings"] = {{"blas", f.blas_in_libtorch ? "MKL (in LibTorch)" : f.blas},
                     {"threads", {{"dltrain", f.dltrain_threads}, {"libtorch_default", f.torch_default_threads}}},
                     {"allocator", f.allocator_tuned ? "tuned" : "glibc defaults"},
                     {"pytorch_cuda_alloc_conf", f.cuda_alloc_conf}};
  out["data"] = {{"dataset", f.dataset}, {"root", f.data_root}, {"found", f.data_found},
                 {"verified", f.data_verified}, {"problem", f.data_problem}};
  nlohmann::json list = nlohmann::json::array();
  std::map<std::string, int> counts = {{"PASS", 0}, {"WARN", 0}, {"FAIL", 0}, {"SKIP", 0}};
  for (const Check& c : checks) {
    list.push_back({{"name", c.name}, {"status", to_string(c.status)}, {"message", c.message}, {"fix", c.fix}});
    ++counts[to_string(c.status)];
  }
  out["checks"] = list;
  out["summary"] = {{"pass", counts["PASS"]}, {"warn", counts["WARN"]}, {"fail", counts["FAIL"]},
                    {"skip", counts["SKIP"]}, {"exit_code", exit_code(checks)}};
  return out;
}

std::string to_text(const Facts& f, const std::vector<Check>& checks) {
  std::ostringstream out;
  const auto row = [&](const std::string& key, const std::string& value) {
    out << format("  %-15s ", key.c_str()) << value << "\n";
  };
  const auto version = [](const std::optional<int>& v) { return v ? cuda_version_text(*v) : std::string("-"); };
  out << "versions\n";
  row("dltrain", f.dltrain_version + " (" + f.build_type + ", " + f.compiler + ")");
  row("LibTorch", f.libtorch_version + (f.torch_cuda_version ? " (CUDA " + version(f.torch_cuda_version) + ")" : " (CPU only)"));
  row("CUDA runtime", version(f.cuda_runtime_version) + ", cuDNN " + (f.cudnn_version ? std::to_string(*f.cudnn_version) : "-"));
  row("NVIDIA driver", f.nvml_ok ? f.driver_version + " (CUDA " + version(f.driver_cuda_version) + ")" : f.nvml_error);
  out << "hardware\n";
  row("CPU", f.cpu_model + ": " + std::to_string(f.physical_cores) + " physical / " + std::to_string(f.logical_cores) +
                 " logical cores, " + std::to_string(f.available_cores) + " available");
  row("memory", mib_text(f.memory_total_mib) + " total, " + mib_text(f.memory_available_mib) + " available");
  for (const GpuFacts& g : f.gpus) {
    const auto& n = g.nvml;
    std::ostringstream gpu;
    gpu << n.name;
    if (n.memory_total_mib) gpu << ": " << mib_text(*n.memory_total_mib) << " (" << mib_text(n.memory_free_mib.value_or(0)) << " free)";
    if (n.cc_major) gpu << ", sm_" << *n.cc_major << n.cc_minor.value_or(0);
    if (g.sm_count) gpu << ", " << *g.sm_count << " SMs";
    if (n.sm_clock_mhz) gpu << ", SM " << *n.sm_clock_mhz << "/" << n.sm_clock_max_mhz.value_or(0) << " MHz";
    if (n.power_limit_w) gpu << ", " << static_cast<int>(*n.power_limit_w) << " W limit";
    if (n.pcie_gen) gpu << ", PCIe " << *n.pcie_gen << " x" << n.pcie_width.value_or(0) << " (max " << n.pcie_gen_max.value_or(0)
                        << " x" << n.pcie_width_max.value_or(0) << ")";
    if (n.temperature_c) gpu << ", " << *n.temperature_c << " C";
    row("GPU " + std::to_string(n.index), gpu.str());
  }
  out << "settings\n";
  row("BLAS", f.blas_in_libtorch ? "MKL (in LibTorch)" : f.blas);
  row("threads", std::to_string(f.dltrain_threads) + " (LibTorch default " + std::to_string(f.torch_default_threads) + ")");
  row("allocator", f.allocator_tuned ? "glibc, tuned by dltrain" : "glibc defaults");
  row("data", f.dataset + (f.data_found ? " at " + f.data_root : std::string(" not found")));
  out << "checks\n";
  int counts[4] = {0, 0, 0, 0};
  for (const Check& c : checks) {
    ++counts[static_cast<int>(c.status)];
    out << format("  %s  %-13s ", to_string(c.status), c.name.c_str()) << c.message << "\n";
    if (!c.fix.empty()) out << std::string(22, ' ') << "fix: " << c.fix << "\n";
  }
  out << "summary: " << counts[0] << " passed, " << counts[1] << " warning(s), " << counts[2] << " failed, " << counts[3]
      << " skipped\n";
  return out.str();
}

int exit_code(const std::vector<Check>& checks) {
  int code = kExitOk;
  for (const Check& c : checks) {
    if (c.status != Status::kFail) continue;
    if (c.name == "require_cuda") return kExitDevice;
    code = kExitCheck;
  }
  return code;
}

}  // namespace dltrain::doctor
