// NVIDIA's management library (NVML), loaded at run time with dlopen: dltrain has no build-time dependency
// on the driver, and a machine without it simply reports that. Only the handful of calls dltrain needs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dltrain::device::nvml {

// Static facts about one GPU. A field NVML cannot give (not supported, error) is empty.
struct GpuInfo {
  unsigned index = 0;
  std::string name;
  std::optional<double> memory_total_mib, memory_free_mib;
  std::optional<int> cc_major, cc_minor;  // compute capability
  std::optional<unsigned> sm_clock_mhz, sm_clock_max_mhz, memory_clock_max_mhz;
  std::optional<double> power_limit_w;
  std::optional<unsigned> pcie_gen, pcie_width, pcie_gen_max, pcie_width_max;
  std::optional<unsigned> temperature_c;
};

// What the monitor records for a GPU at one moment.
struct GpuSample {
  std::optional<unsigned> util_percent;  // share of time a kernel was running
  std::optional<double> memory_used_mib;
  std::optional<unsigned> temperature_c;
  std::optional<double> power_w;
  std::optional<unsigned> sm_clock_mhz;
  std::optional<uint64_t> throttle_reasons;  // NVML's clocks-throttle-reason bits
};

// Throttle reasons worth a warning: thermal or hardware slowdown and power brake. The software power cap
// (0x4) is left out: a GPU at full load routinely runs at its power limit.
constexpr uint64_t kSlowdownReasons = 0x8 | 0x20 | 0x40 | 0x80;
// "power cap, thermal" etc. for the bits set in `reasons`.
std::string describe_throttle(uint64_t reasons);

class Library {
 public:
  // Loads `path` (default: $DLTRAIN_NVML_LIBRARY, else libnvidia-ml.so.1 through the usual search path,
  // LD_LIBRARY_PATH included) and initialises NVML. Never throws: check ok() and error().
  static std::shared_ptr<Library> open(const std::string& path = "");
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  bool ok() const { return initialised_; }
  // Why NVML is not usable: "libnvidia-ml.so.1: cannot open shared object file ..." or the NVML error.
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

  std::string driver_version() const;            // "550.54.15", empty if unknown
  std::optional<int> cuda_driver_version() const;  // highest CUDA the driver supports: 12040 = 12.4
  unsigned device_count() const;
  GpuInfo info(unsigned index) const;
  GpuSample sample(unsigned index) const;
  // The NVML index of the GPU with this PCI bus id ("00000000:3B:00.0"), if NVML knows it.
  std::optional<unsigned> index_of_bus_id(const std::string& bus_id) const;

  struct Api;  // the resolved entry points

 private:
  Library() = default;
  void* handle_ = nullptr;
  std::unique_ptr<Api> api_;
  bool initialised_ = false;
  std::string error_, path_;
};

}  // namespace dltrain::device::nvml
