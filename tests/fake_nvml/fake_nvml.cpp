// A stand-in libnvidia-ml.so.1 for tests: the NVML entry points dltrain calls, with values set through the
// environment, so the real dlopen path runs on machines without a GPU.
//   FAKE_NVML_GPUS      number of GPUs (default 1)
//   FAKE_NVML_DRIVER    driver version (default 535.104.05)
//   FAKE_NVML_CUDA      highest CUDA the driver supports, 1000*major + 10*minor (default 12020)
//   FAKE_NVML_UTIL      GPU utilisation in percent (default 95)
//   FAKE_NVML_THROTTLE  clocks-throttle-reason bits (default 0)
//   FAKE_NVML_FAIL      comma-separated entry points that return an error (nvmlInit_v2 -> "Driver Not Loaded")
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using Return = int;
constexpr Return kSuccess = 0, kInvalidArgument = 2, kDriverNotLoaded = 9, kUnknown = 999;
constexpr unsigned long long kGiB = 1024ULL * 1024ULL * 1024ULL;

unsigned long env_number(const char* name, unsigned long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoul(v, nullptr, 0) : fallback;
}

bool failing(const char* function) {
  const char* v = std::getenv("FAKE_NVML_FAIL");
  if (v == nullptr) return false;
  const std::string list = std::string(",") + v + ",";
  return list.find(std::string(",") + function + ",") != std::string::npos;
}

// A device handle is its index + 1, so a null handle is never valid.
bool valid(const void* device) {
  const auto i = reinterpret_cast<uintptr_t>(device);
  return i >= 1 && i <= env_number("FAKE_NVML_GPUS", 1);
}

Return copy(const std::string& text, char* out, unsigned length) {
  if (out == nullptr || length <= text.size()) return kInvalidArgument;
  std::memcpy(out, text.c_str(), text.size() + 1);
  return kSuccess;
}

}  // namespace

#define FAKE_FAIL_IF_ASKED(name) \
  if (failing(name)) return kUnknown

extern "C" {

struct Memory {
  unsigned long long total, free, used;
};
struct Utilization {
  unsigned gpu, memory;
};

Return nvmlInit_v2() { return failing("nvmlInit_v2") ? kDriverNotLoaded : kSuccess; }
Return nvmlShutdown() { return kSuccess; }
const char* nvmlErrorString(Return r) {
  switch (r) {
    case kSuccess: return "Success";
    case kInvalidArgument: return "Invalid Argument";
    case kDriverNotLoaded: return "Driver Not Loaded";
    default: return "Unknown Error";
  }
}

Return nvmlSystemGetDriverVersion(char* out, unsigned length) {
  FAKE_FAIL_IF_ASKED("nvmlSystemGetDriverVersion");
  const char* v = std::getenv("FAKE_NVML_DRIVER");
  return copy(v != nullptr ? v : "535.104.05", out, length);
}
Return nvmlSystemGetCudaDriverVersion_v2(int* version) {
  FAKE_FAIL_IF_ASKED("nvmlSystemGetCudaDriverVersion_v2");
  *version = static_cast<int>(env_number("FAKE_NVML_CUDA", 12020));
  return kSuccess;
}
Return nvmlDeviceGetCount_v2(unsigned* count) {
  FAKE_FAIL_IF_ASKED("nvmlDeviceGetCount_v2");
  *count = static_cast<unsigned>(env_number("FAKE_NVML_GPUS", 1));
  return kSuccess;
}
Return nvmlDeviceGetHandleByIndex_v2(unsigned index, void** device) {
  FAKE_FAIL_IF_ASKED("nvmlDeviceGetHandleByIndex_v2");
  if (index >= env_number("FAKE_NVML_GPUS", 1)) return kInvalidArgument;
  *device = reinterpret_cast<void*>(static_cast<uintptr_t>(index) + 1);
  return kSuccess;
}
Return nvmlDeviceGetHandleByPciBusId_v2(const char* bus_id, void** device) {
  unsigned domain = 0, bus = 0, dev = 0;
  if (std::sscanf(bus_id, "%x:%x:%x", &domain, &bus, &dev) != 3) return kInvalidArgument;
  return nvmlDeviceGetHandleByIndex_v2(bus, device);  // GPU i sits on bus i
}
Return nvmlDeviceGetIndex(void* device, unsigned* index) {
  if (!valid(device)) return kInvalidArgument;
  *index = static_cast<unsigned>(reinterpret_cast<uintptr_t>(device) - 1);
  return kSuccess;
}
Return nvmlDeviceGetName(void* device, char* out, unsigned length) {
  FAKE_FAIL_IF_ASKED("nvmlDeviceGetName");
  if (!valid(device)) return kInvalidArgument;
  return copy("Fake GPU " + std::to_string(reinterpret_cast<uintptr_t>(device) - 1), out, length);
}
Return nvmlDeviceGetMemoryInfo(void* device, Memory* memory) {
  FAKE_FAIL_IF_ASKED("nvmlDeviceGetMemoryInfo");
  if (!valid(device)) return kInvalidArgument;
  *memory = {80 * kGiB, 78 * kGiB, 2 * kGiB};
  return kSuccess;
}
Return nvmlDeviceGetCudaComputeCapability(void* device, int* major, int* minor) {
  if (!valid(device)) return kInvalidArgument;
  *major = 9;
  *minor = 0;
  return kSuccess;
}
Return nvmlDeviceGetClockInfo(void* device, int type, unsigned* mhz) {
  if (!valid(device)) return kInvalidArgument;
  *mhz = type == 2 ? 2619 : 1755;
  return kSuccess;
}
Return nvmlDeviceGetMaxClockInfo(void* device, int type, unsigned* mhz) {
  if (!valid(device)) return kInvalidArgument;
  *mhz = type == 2 ? 2619 : 1980;
  return kSuccess;
}
Return nvmlDeviceGetEnforcedPowerLimit(void* device, unsigned* milliwatts) {
  if (!valid(device)) return kInvalidArgument;
  *milliwatts = 700000;
  return kSuccess;
}
Return nvmlDeviceGetPowerUsage(void* device, unsigned* milliwatts) {
  FAKE_FAIL_IF_ASKED("nvmlDeviceGetPowerUsage");
  if (!valid(device)) return kInvalidArgument;
  *milliwatts = 312500;
  return kSuccess;
}
Return nvmlDeviceGetCurrPcieLinkGeneration(void* device, unsigned* v) { return valid(device) ? (*v = 5, kSuccess) : kInvalidArgument; }
Return nvmlDeviceGetCurrPcieLinkWidth(void* device, unsigned* v) { return valid(device) ? (*v = 16, kSuccess) : kInvalidArgument; }
Return nvmlDeviceGetMaxPcieLinkGeneration(void* device, unsigned* v) { return valid(device) ? (*v = 5, kSuccess) : kInvalidArgument; }
Return nvmlDeviceGetMaxPcieLinkWidth(void* device, unsigned* v) { return valid(device) ? (*v = 16, kSuccess) : kInvalidArgument; }
Return nvmlDeviceGetTemperature(void* device, int /*sensor*/, unsigned* celsius) {
  if (!valid(device)) return kInvalidArgument;
  *celsius = 47;
  return kSuccess;
}
Return nvmlDeviceGetUtilizationRates(void* device, Utilization* u) {
  FAKE_FAIL_IF_ASKED("nvmlDeviceGetUtilizationRates");
  if (!valid(device)) return kInvalidArgument;
  *u = {static_cast<unsigned>(env_number("FAKE_NVML_UTIL", 95)), 40};
  return kSuccess;
}
Return nvmlDeviceGetCurrentClocksThrottleReasons(void* device, unsigned long long* reasons) {
  if (!valid(device)) return kInvalidArgument;
  *reasons = env_number("FAKE_NVML_THROTTLE", 0);
  return kSuccess;
}

}  // extern "C"
