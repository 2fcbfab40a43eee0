// NVML through dlopen, the training monitor and `dltrain doctor`'s checks, run for real against the fake
// libnvidia-ml.so.1 that the tests build (tests/fake_nvml).
#include "dltrain/doctor/doctor.hpp"
// (keep this order: Torch's CHECK before Catch's)
#include "catch_compat.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "dltrain/core/error.hpp"
#include "dltrain/device/device.hpp"
#include "dltrain/device/monitor.hpp"
#include "dltrain/device/nvml.hpp"
#include "helpers.hpp"

namespace {

using dltrain::device::Monitor;
using dltrain::device::MonitorOptions;
using dltrain::device::MonitorSample;
using dltrain::device::nvml::Library;
using dltrain::doctor::Check;
using dltrain::doctor::Facts;
using dltrain::doctor::Status;

// Sets an environment variable for the scope of a test and restores the old value.
class EnvVar {
 public:
  EnvVar(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    had_ = std::getenv(name) != nullptr;
    setenv(name, value.c_str(), 1);
  }
  ~EnvVar() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// tests/CMakeLists.txt builds it next to this test binary: <dir of dltrain_tests>/fake_nvml/.
std::string fake_nvml() {
  if (const char* path = std::getenv("FAKE_NVML")) return path;
  const auto here = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  const auto path = here / "fake_nvml" / "libnvidia-ml.so.1";
  REQUIRE(std::filesystem::exists(path));
  return path.string();
}

const Check& find(const std::vector<Check>& checks, const std::string& name) {
  for (const Check& c : checks) {
    if (c.name == name) return c;
  }
  FAIL("no check named " << name);
  throw std::logic_error("unreachable");
}

void busy_for(double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  volatile double x = 0;
  while (std::chrono::steady_clock::now() < end) x = x + 1.0;
}

// Samples every 20 ms, GPU 0 of the fake driver included.
MonitorOptions watching_fake_gpu() {
  MonitorOptions options;
  options.interval_s = 0.02;
  options.nvml = Library::open(fake_nvml());
  options.gpu = 0u;
  return options;
}

MonitorSample gpu_sample(double t, unsigned util, uint64_t throttle = 0) {
  MonitorSample m;
  m.t_s = t;
  m.gpu = dltrain::device::nvml::GpuSample{};
  m.gpu->util_percent = util;
  m.gpu->throttle_reasons = throttle;
  return m;
}

}  // namespace

TEST_CASE("nvml: the fake driver's facts come through dlopen", "[nvml]") {
  const auto lib = Library::open(fake_nvml());
  REQUIRE(lib->ok());
  CHECK(lib->driver_version() == "535.104.05");
  CHECK(lib->cuda_driver_version() == 12020);
  REQUIRE(lib->device_count() == 1);
  const auto g = lib->info(0);
  CHECK(g.name == "Fake GPU 0");
  CHECK(g.memory_total_mib == Approx(80 * 1024));
  CHECK(g.memory_free_mib == Approx(78 * 1024));
  CHECK(g.cc_major == 9);
  CHECK(g.cc_minor == 0);
  CHECK(g.sm_clock_max_mhz == 1980u);
  CHECK(g.power_limit_w == Approx(700.0));
  CHECK(g.pcie_gen == 5u);
  CHECK(g.pcie_width == 16u);
  CHECK(g.temperature_c == 47u);
  const auto s = lib->sample(0);
  CHECK(s.util_percent == 95u);
  CHECK(s.power_w == Approx(312.5));
  CHECK(s.memory_used_mib == Approx(2048.0));
  CHECK(s.throttle_reasons == 0u);
  // An index the driver does not have gives empty facts, not a crash.
  CHECK(lib->info(3).name.empty());
  CHECK_FALSE(lib->sample(3).util_percent.has_value());
}

TEST_CASE("nvml: several GPUs, lookup by PCI bus id, $DLTRAIN_NVML_LIBRARY", "[nvml]") {
  const EnvVar gpus("FAKE_NVML_GPUS", "2");
  const EnvVar path("DLTRAIN_NVML_LIBRARY", fake_nvml());
  const auto lib = Library::open();
  REQUIRE(lib->ok());
  CHECK(lib->device_count() == 2);
  CHECK(lib->info(1).name == "Fake GPU 1");
  CHECK(lib->index_of_bus_id("00000000:01:00.0") == 1u);
  CHECK_FALSE(lib->index_of_bus_id("00000000:07:00.0").has_value());
}

TEST_CASE("nvml: errors are reported, never thrown", "[nvml]") {
  SECTION("no library") {
    const auto lib = Library::open("/nonexistent/libnvidia-ml.so.1");
    CHECK_FALSE(lib->ok());
    CHECK_THAT(lib->error(), ContainsText("NVIDIA driver library not found"));
    CHECK(lib->device_count() == 0);
    CHECK(lib->driver_version().empty());
  }
  SECTION("nvmlInit fails") {
    const EnvVar fail("FAKE_NVML_FAIL", "nvmlInit_v2");
    const auto lib = Library::open(fake_nvml());
    CHECK_FALSE(lib->ok());
    CHECK_THAT(lib->error(), ContainsText("nvmlInit failed: Driver Not Loaded"));
  }
  SECTION("one query fails") {
    const EnvVar fail("FAKE_NVML_FAIL", "nvmlDeviceGetPowerUsage,nvmlDeviceGetMemoryInfo");
    const auto lib = Library::open(fake_nvml());
    REQUIRE(lib->ok());
    const auto s = lib->sample(0);
    CHECK_FALSE(s.power_w.has_value());
    CHECK_FALSE(s.memory_used_mib.has_value());
    CHECK(s.util_percent == 95u);
    CHECK_FALSE(lib->info(0).memory_total_mib.has_value());
  }
}

TEST_CASE("monitor: samples CPU, RSS and the GPU at its interval", "[monitor]") {
  Monitor monitor(watching_fake_gpu());
  busy_for(0.3);
  monitor.stop();
  monitor.stop();  // idempotent
  const auto samples = monitor.samples();
  REQUIRE(samples.size() >= 5);
  CHECK(samples.size() <= 20);  // 0.3 s / 0.02 s + the last one
  for (size_t i = 1; i < samples.size(); ++i) CHECK(samples[i].t_s > samples[i - 1].t_s);
  double cpu = 0;
  for (const auto& s : samples) {
    REQUIRE(s.gpu.has_value());
    CHECK(s.gpu->util_percent == 95u);
    CHECK(s.rss_mib > 1.0);
    cpu += s.cpu_percent;
  }
  CHECK(cpu / static_cast<double>(samples.size()) > 20.0);  // the busy loop ran on this process's CPU time

  const nlohmann::json r = monitor.report();
  CHECK(r["enabled"] == true);
  CHECK(r["samples"] == samples.size());
  CHECK(r["sample_cost_us"].get<double>() > 0.0);
  CHECK(r["summary"]["gpu"]["name"] == "Fake GPU 0");
  CHECK(r["summary"]["gpu"]["util_percent"]["mean"].get<double>() == Approx(95.0));
  CHECK(r["summary"]["gpu"]["power_w"]["max"].get<double>() == Approx(312.5));
  CHECK(r["series"]["t_s"].size() == samples.size());
  CHECK(r["series"]["gpu_util_percent"].size() == samples.size());
  CHECK(r["warnings"].empty());
  CHECK_THAT(monitor.summary_line(), ContainsText("GPU 0 util 95% mean"));

  const nlohmann::json small = monitor.report(3);
  CHECK(small["series"]["t_s"].size() <= 3);
  CHECK(small["series"]["cpu_percent"].size() == small["series"]["t_s"].size());
}

TEST_CASE("monitor: an idle or throttling GPU is warned about", "[monitor]") {
  SECTION("through the fake driver") {
    const EnvVar util("FAKE_NVML_UTIL", "12");
    const EnvVar throttle("FAKE_NVML_THROTTLE", "0x40");
    Monitor monitor(watching_fake_gpu());
    busy_for(0.15);
    monitor.stop();
    const auto warnings = dltrain::device::monitor_warnings(monitor.samples());
    REQUIRE(warnings.size() == 2);
    CHECK_THAT(warnings[0], ContainsText("mostly idle: 12% mean"));
    CHECK_THAT(warnings[1], ContainsText("thermal (hardware)"));
    CHECK(monitor.report()["summary"]["gpu"]["throttled_fraction"].get<double>() == Approx(1.0));
  }
  SECTION("warm-up samples do not count") {
    std::vector<MonitorSample> samples = {gpu_sample(0.5, 0), gpu_sample(1.0, 3)};
    for (int i = 0; i < 8; ++i) samples.push_back(gpu_sample(1.5 + 0.5 * i, 90));
    CHECK(dltrain::device::monitor_warnings(samples).empty());
    samples.back().gpu->throttle_reasons = 0x1;  // idle is not a slowdown
    CHECK(dltrain::device::monitor_warnings(samples).empty());
    for (auto& s : samples) s.gpu->util_percent = 30;
    CHECK(dltrain::device::monitor_warnings(samples).size() == 1);
  }
  SECTION("no GPU: nothing to warn about") {
    std::vector<MonitorSample> samples(10);
    CHECK(dltrain::device::monitor_warnings(samples).empty());
  }
}

TEST_CASE("monitor: interval 0 is off", "[monitor]") {
  MonitorOptions options;
  options.interval_s = 0;
  Monitor monitor(options);
  busy_for(0.05);
  monitor.stop();
  CHECK(monitor.samples().empty());
  CHECK(monitor.report()["enabled"] == false);
  CHECK(monitor.summary_line().empty());
}

TEST_CASE("doctor: facts through the fake driver, and the checks on them", "[doctor]") {
  dltrain::testing::TempDir empty;
  const EnvVar path("DLTRAIN_NVML_LIBRARY", fake_nvml());
  dltrain::doctor::Options options;
  options.data_dir = (empty.path / "nothing-here").string();
  const Facts f = dltrain::doctor::gather(options);
  CHECK(f.nvml_ok);
  CHECK(f.driver_version == "535.104.05");
  REQUIRE(f.gpus.size() == 1);
  CHECK(f.gpus[0].nvml.name == "Fake GPU 0");
  CHECK(f.logical_cores >= 1);
  CHECK(f.physical_cores >= 1);
  CHECK(f.available_cores >= 1);
  CHECK(f.memory_total_mib > 0);
  CHECK_FALSE(f.data_found);

  const auto checks = dltrain::doctor::run_checks(f, options);
  CHECK(find(checks, "driver").status == Status::kPass);
  CHECK_THAT(find(checks, "driver").message, ContainsText("supports CUDA up to 12.2"));
  CHECK(find(checks, "data").status == Status::kWarn);
  CHECK_THAT(find(checks, "data").fix, ContainsText("dltrain data fetch mnist"));
  if (!f.torch_cuda_version) {  // this CPU-only build on a machine with a (fake) GPU
    CHECK(find(checks, "cuda").status == Status::kWarn);
    CHECK_THAT(find(checks, "cuda").fix, ContainsText("CUDA build"));
    CHECK(find(checks, "driver_cuda").status == Status::kSkip);
    CHECK(dltrain::doctor::exit_code(checks) == dltrain::kExitOk);
  }

  const nlohmann::json j = nlohmann::json::parse(dltrain::doctor::to_json(f, checks).dump());
  for (const char* key : {"versions", "hardware", "settings", "data", "checks", "summary"}) CHECK(j.contains(key));
  CHECK(j["hardware"]["gpus"][0]["compute_capability"] == "9.0");
  CHECK(j["hardware"]["gpus"][0]["pcie"]["width"] == 16);
  CHECK(j["summary"]["exit_code"] == dltrain::doctor::exit_code(checks));
  CHECK_THAT(dltrain::doctor::to_text(f, checks), ContainsText("GPU 0           Fake GPU 0: 80.0 GiB"));
}

TEST_CASE("doctor: a driver too old for LibTorch's CUDA fails with the driver to install", "[doctor]") {
  const EnvVar path("DLTRAIN_NVML_LIBRARY", fake_nvml());
  const EnvVar cuda("FAKE_NVML_CUDA", "11040");
  dltrain::doctor::Options options;
  Facts f = dltrain::doctor::gather(options);
  REQUIRE(f.driver_cuda_version == 11040);
  f.torch_cuda_version = 12080;  // as a LibTorch built for CUDA 12.8 reports it
  auto checks = dltrain::doctor::run_checks(f, options);
  const Check c = find(checks, "driver_cuda");
  CHECK(c.status == Status::kFail);
  CHECK_THAT(c.message, ContainsText("supports CUDA 11.4, LibTorch was built for CUDA 12.8"));
  CHECK_THAT(c.fix, ContainsText("525.60.13 or newer"));
  CHECK(dltrain::doctor::exit_code(checks) == dltrain::kExitCheck);

  f.driver_cuda_version = 12020;  // same major, older minor: runs, with a warning
  CHECK(find(dltrain::doctor::run_checks(f, options), "driver_cuda").status == Status::kWarn);
  f.driver_cuda_version = 12080;
  CHECK(find(dltrain::doctor::run_checks(f, options), "driver_cuda").status == Status::kPass);
}

TEST_CASE("doctor: slow settings warn, broken ones fail", "[doctor]") {
  Facts f;
  f.optimized_build = false;
  f.build_type = "Debug";
  f.blas = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";
  f.available_cores = f.dltrain_threads = 4;
  f.cgroup_cpus = 1.0;
  f.allocator_tuned = false;
  f.memory_available_mib = 900;
  f.nvml_error = "NVIDIA driver library not found (libnvidia-ml.so.1: cannot open shared object file)";
  f.dataset = "mnist";
  f.data_found = true;
  f.data_corrupt = true;
  f.data_root = "data/mnist";
  f.data_problem = "train-images-idx3-ubyte.gz fails its SHA-256";
  dltrain::doctor::Options options;
  options.require_cuda = true;
  const auto checks = dltrain::doctor::run_checks(f, options);
  CHECK(find(checks, "build").status == Status::kWarn);
  CHECK(find(checks, "blas").status == Status::kWarn);
  CHECK_THAT(find(checks, "blas").fix, ContainsText("libopenblas0-openmp"));
  CHECK(find(checks, "threads").status == Status::kWarn);
  CHECK_THAT(find(checks, "threads").fix, ContainsText("--threads 1"));
  CHECK(find(checks, "allocator").status == Status::kWarn);
  CHECK(find(checks, "memory").status == Status::kWarn);
  CHECK(find(checks, "driver").status == Status::kSkip);  // no driver, CPU-only build: nothing wrong
  CHECK(find(checks, "data").status == Status::kFail);
  CHECK(find(checks, "require_cuda").status == Status::kFail);
  CHECK(dltrain::doctor::exit_code(checks) == dltrain::kExitDevice);  // --require cuda decides the code

  options.require_cuda = false;
  CHECK(dltrain::doctor::exit_code(dltrain::doctor::run_checks(f, options)) == dltrain::kExitCheck);
  f.data_corrupt = false;
  f.data_problem = "t10k-labels-idx1-ubyte is raw (checksums are published for the .gz files)";
  CHECK(find(dltrain::doctor::run_checks(f, options), "data").status == Status::kWarn);
}

TEST_CASE("doctor: corrupt data files fail the data check", "[doctor]") {
  dltrain::testing::TempDir dir;
  for (const char* name : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                           "t10k-labels-idx1-ubyte.gz"}) {
    std::ofstream(dir.path / name) << "not the real file";
  }
  dltrain::doctor::Options options;
  options.data_dir = dir.path.string();
  const Facts f = dltrain::doctor::gather(options);
  CHECK(f.data_found);
  CHECK_FALSE(f.data_verified);
  CHECK(f.data_corrupt);
  const auto checks = dltrain::doctor::run_checks(f, options);
  CHECK(find(checks, "data").status == Status::kFail);
  CHECK_THAT(find(checks, "data").fix, ContainsText("--root " + dir.path.string()));
}

TEST_CASE("doctor: CUDA versions and minimum drivers", "[doctor]") {
  CHECK(dltrain::device::cuda_version_text(12040) == "12.4");
  CHECK(dltrain::device::cuda_version_text(11080) == "11.8");
  CHECK(dltrain::device::cuda_version_text(13000) == "13.0");
  CHECK(dltrain::doctor::minimum_driver_for_cuda(11) == "450.80.02");
  CHECK(dltrain::doctor::minimum_driver_for_cuda(12) == "525.60.13");
  CHECK(dltrain::doctor::minimum_driver_for_cuda(13) == "580.65.06");
}
