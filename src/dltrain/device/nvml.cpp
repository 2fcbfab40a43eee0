// NVML through dlopen. The types below are the few parts of nvml.h's stable C ABI that dltrain uses.
#include "dltrain/device/nvml.hpp"

#include <dlfcn.h>

#include <cstdlib>

namespace dltrain::device::nvml {
namespace {

using Return = int;  // nvmlReturn_t; 0 is NVML_SUCCESS
using Device = struct DeviceSt*;
struct Memory {
  unsigned long long total, free, used;
};
struct Utilization {
  unsigned gpu, memory;
};
constexpr int kClockSm = 1, kClockMemory = 2;  // nvmlClockType_t
constexpr int kTemperatureGpu = 0;                                 // nvmlTemperatureSensors_t
constexpr double kMiB = 1024.0 * 1024.0;

template <typename F>
F* symbol(void* handle, const char* name) {
  return reinterpret_cast<F*>(dlsym(handle, name));
}

}  // namespace

struct Library::Api {
  Return (*init)() = nullptr;
  Return (*shutdown)() = nullptr;
  const char* (*error_string)(Return) = nullptr;
  Return (*driver_version)(char*, unsigned) = nullptr;
  Return (*cuda_driver_version)(int*) = nullptr;
  Return (*count)(unsigned*) = nullptr;
  Return (*by_index)(unsigned, Device*) = nullptr;
  Return (*by_bus_id)(const char*, Device*) = nullptr;
  Return (*index)(Device, unsigned*) = nullptr;
  Return (*name)(Device, char*, unsigned) = nullptr;
  Return (*memory)(Device, Memory*) = nullptr;
  Return (*compute_capability)(Device, int*, int*) = nullptr;
  Return (*clock)(Device, int, unsigned*) = nullptr;
  Return (*max_clock)(Device, int, unsigned*) = nullptr;
  Return (*power_limit)(Device, unsigned*) = nullptr;
  Return (*power)(Device, unsigned*) = nullptr;
  Return (*pcie_gen)(Device, unsigned*) = nullptr;
  Return (*pcie_width)(Device, unsigned*) = nullptr;
  Return (*pcie_gen_max)(Device, unsigned*) = nullptr;
  Return (*pcie_width_max)(Device, unsigned*) = nullptr;
  Return (*temperature)(Device, int, unsigned*) = nullptr;
  Return (*utilization)(Device, Utilization*) = nullptr;
  Return (*throttle_reasons)(Device, unsigned long long*) = nullptr;

  void resolve(void* h) {
    init = symbol<Return()>(h, "nvmlInit_v2");
    if (init == nullptr) init = symbol<Return()>(h, "nvmlInit");
    shutdown = symbol<Return()>(h, "nvmlShutdown");
    error_string = symbol<const char*(Return)>(h, "nvmlErrorString");
    driver_version = symbol<Return(char*, unsigned)>(h, "nvmlSystemGetDriverVersion");
    cuda_driver_version = symbol<Return(int*)>(h, "nvmlSystemGetCudaDriverVersion_v2");
    if (cuda_driver_version == nullptr) cuda_driver_version = symbol<Return(int*)>(h, "nvmlSystemGetCudaDriverVersion");
    count = symbol<Return(unsigned*)>(h, "nvmlDeviceGetCount_v2");
    by_index = symbol<Return(unsigned, Device*)>(h, "nvmlDeviceGetHandleByIndex_v2");
    by_bus_id = symbol<Return(const char*, Device*)>(h, "nvmlDeviceGetHandleByPciBusId_v2");
    index = symbol<Return(Device, unsigned*)>(h, "nvmlDeviceGetIndex");
    name = symbol<Return(Device, char*, unsigned)>(h, "nvmlDeviceGetName");
    memory = symbol<Return(Device, Memory*)>(h, "nvmlDeviceGetMemoryInfo");
    compute_capability = symbol<Return(Device, int*, int*)>(h, "nvmlDeviceGetCudaComputeCapability");
    clock = symbol<Return(Device, int, unsigned*)>(h, "nvmlDeviceGetClockInfo");
    max_clock = symbol<Return(Device, int, unsigned*)>(h, "nvmlDeviceGetMaxClockInfo");
    power_limit = symbol<Return(Device, unsigned*)>(h, "nvmlDeviceGetEnforcedPowerLimit");
    power = symbol<Return(Device, unsigned*)>(h, "nvmlDeviceGetPowerUsage");
    pcie_gen = symbol<Return(Device, unsigned*)>(h, "nvmlDeviceGetCurrPcieLinkGeneration");
    pcie_width = symbol<Return(Device, unsigned*)>(h, "nvmlDeviceGetCurrPcieLinkWidth");
    pcie_gen_max = symbol<Return(Device, unsigned*)>(h, "nvmlDeviceGetMaxPcieLinkGeneration");
    pcie_width_max = symbol<Return(Device, unsigned*)>(h, "nvmlDeviceGetMaxPcieLinkWidth");
    temperature = symbol<Return(Device, int, unsigned*)>(h, "nvmlDeviceGetTemperature");
    utilization = symbol<Return(Device, Utilization*)>(h, "nvmlDeviceGetUtilizationRates");
    throttle_reasons = symbol<Return(Device, unsigned long long*)>(h, "nvmlDeviceGetCurrentClocksThrottleReasons");
    if (throttle_reasons == nullptr) {
      throttle_reasons = symbol<Return(Device, unsigned long long*)>(h, "nvmlDeviceGetCurrentClocksEventReasons");
    }
  }

  // The device handle, or null when NVML has none for `i`.
  Device device(unsigned i) const {
    Device d = nullptr;
    return by_index != nullptr && by_index(i, &d) == 0 ? d : nullptr;
  }
};

namespace {

// Calls `f(device, args..., &value)` and returns the value when it succeeded.
template <typename T, typename F, typename... Args>
std::optional<T> query(F f, Device d, Args... args) {
  T value{};
  if (f == nullptr || d == nullptr || f(d, args..., &value) != 0) return std::nullopt;
  return value;
}

}  // namespace

std::string describe_throttle(uint64_t reasons) {
  static const std::pair<uint64_t, const char*> kNames[] = {
      {0x4, "power cap"},          {0x8, "hardware slowdown"},   {0x20, "thermal (software)"},
      {0x40, "thermal (hardware)"}, {0x80, "power brake"},        {0x2, "application clocks"},
      {0x1, "idle"}};
  std::string text;
  for (const auto& [bit, name] : kNames) {
    if ((reasons & bit) != 0) text += (text.empty() ? "" : ", ") + std::string(name);
  }
  return text;
}

std::shared_ptr<Library> Library::open(const std::string& path) {
  std::shared_ptr<Library> lib(new Library());
  const char* from_env = std::getenv("DLTRAIN_NVML_LIBRARY");
  lib->path_ = !path.empty() ? path : (from_env != nullptr && *from_env != '\0') ? from_env : "libnvidia-ml.so.1";
  lib->handle_ = dlopen(lib->path_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib->handle_ == nullptr) {
    const char* why = dlerror();
    lib->error_ = "NVIDIA driver library not found (" + std::string(why != nullptr ? why : lib->path_) + ")";
    return lib;
  }
  lib->api_ = std::make_unique<Api>();
  lib->api_->resolve(lib->handle_);
  const Api& a = *lib->api_;
  if (a.init == nullptr || a.count == nullptr || a.by_index == nullptr) {
    lib->error_ = lib->path_ + " does not export nvmlInit/nvmlDeviceGetCount/nvmlDeviceGetHandleByIndex";
    return lib;
  }
  if (const Return r = a.init(); r != 0) {
    lib->error_ = "nvmlInit failed: " + std::string(a.error_string != nullptr ? a.error_string(r) : "error " + std::to_string(r));
    return lib;
  }
  lib->initialised_ = true;
  return lib;
}

Library::~Library() {
  if (initialised_ && api_->shutdown != nullptr) api_->shutdown();
  if (handle_ != nullptr) dlclose(handle_);
}

std::string Library::driver_version() const {
  char text[96] = {};
  if (!initialised_ || api_->driver_version == nullptr || api_->driver_version(text, sizeof(text)) != 0) return "";
  return text;
}

std::optional<int> Library::cuda_driver_version() const {
  int version = 0;
  if (!initialised_ || api_->cuda_driver_version == nullptr || api_->cuda_driver_version(&version) != 0) return std::nullopt;
  return version;
}

unsigned Library::device_count() const {
  unsigned n = 0;
  if (!initialised_ || api_->count(&n) != 0) return 0;
  return n;
}

GpuInfo Library::info(unsigned index) const {
  GpuInfo g;
  g.index = index;
  if (!initialised_) return g;
  const Api& a = *api_;
  const Device d = a.device(index);
  char name[96] = {};
  if (d != nullptr && a.name != nullptr && a.name(d, name, sizeof(name)) == 0) g.name = name;
  if (const auto m = query<Memory>(a.memory, d)) {
    g.memory_total_mib = static_cast<double>(m->total) / kMiB;
    g.memory_free_mib = static_cast<double>(m->free) / kMiB;
  }
  int major = 0, minor = 0;
  if (d != nullptr && a.compute_capability != nullptr && a.compute_capability(d, &major, &minor) == 0) {
    g.cc_major = major;
    g.cc_minor = minor;
  }
  g.sm_clock_mhz = query<unsigned>(a.clock, d, kClockSm);
  g.sm_clock_max_mhz = query<unsigned>(a.max_clock, d, kClockSm);
  g.memory_clock_max_mhz = query<unsigned>(a.max_clock, d, kClockMemory);
  if (const auto mw = query<unsigned>(a.power_limit, d)) g.power_limit_w = *mw / 1000.0;
  g.pcie_gen = query<unsigned>(a.pcie_gen, d);
  g.pcie_width = query<unsigned>(a.pcie_width, d);
  g.pcie_gen_max = query<unsigned>(a.pcie_gen_max, d);
  g.pcie_width_max = query<unsigned>(a.pcie_width_max, d);
  g.temperature_c = query<unsigned>(a.temperature, d, kTemperatureGpu);
  return g;
}

GpuSample Library::sample(unsigned index) const {
  GpuSample s;
  if (!initialised_) return s;
  const Api& a = *api_;
  const Device d = a.device(index);
  if (const auto u = query<Utilization>(a.utilization, d)) s.util_percent = u->gpu;
  if (const auto m = query<Memory>(a.memory, d)) s.memory_used_mib = static_cast<double>(m->used) / kMiB;
  s.temperature_c = query<unsigned>(a.temperature, d, kTemperatureGpu);
  if (const auto mw = query<unsigned>(a.power, d)) s.power_w = *mw / 1000.0;
  s.sm_clock_mhz = query<unsigned>(a.clock, d, kClockSm);
  if (const auto r = query<unsigned long long>(a.throttle_reasons, d)) s.throttle_reasons = *r;
  return s;
}

std::optional<unsigned> Library::index_of_bus_id(const std::string& bus_id) const {
  if (!initialised_ || api_->by_bus_id == nullptr || api_->index == nullptr) return std::nullopt;
  Device d = nullptr;
  if (api_->by_bus_id(bus_id.c_str(), &d) != 0) return std::nullopt;
  return query<unsigned>(api_->index, d);
}

}  // namespace dltrain::device::nvml
