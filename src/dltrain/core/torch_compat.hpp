// Every difference between LibTorch 1.13 (Debian, CPU) and LibTorch 2.x (CUDA builds) lives here.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include <torch/torch.h>
#include <torch/version.h>

#if defined(__has_include)
#if __has_include(<ATen/cuda/CUDAContext.h>) && defined(DLTRAIN_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <cuda_runtime_api.h>
#endif
#endif

namespace dltrain::compat {

#ifdef DLTRAIN_WITH_CUDA
inline constexpr bool kHasCudaBuild = true;
#else
inline constexpr bool kHasCudaBuild = false;
#endif

inline std::string torch_version() { return TORCH_VERSION; }

inline constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

// A CPU generator seeded with `seed` (the factory moved between headers over versions).
inline at::Generator cpu_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

inline std::string cuda_device_name(int index) {
#ifdef DLTRAIN_WITH_CUDA
  return at::cuda::getDeviceProperties(index)->name;
#else
  (void)index;
  return "none";
#endif
}

// The CUDA toolkit LibTorch and dltrain were built with, and the CUDA runtime loaded now
// (1000 * major + 10 * minor); empty in CPU-only builds.
inline std::optional<int> cuda_built_version() {
#ifdef DLTRAIN_WITH_CUDA
  return CUDART_VERSION;
#else
  return std::nullopt;
#endif
}

inline std::optional<int> cuda_runtime_version() {
#ifdef DLTRAIN_WITH_CUDA
  int version = 0;
  if (cudaRuntimeGetVersion(&version) == cudaSuccess) return version;
#endif
  return std::nullopt;
}

inline std::optional<int> cuda_sm_count(int index) {
#ifdef DLTRAIN_WITH_CUDA
  return at::cuda::getDeviceProperties(index)->multiProcessorCount;
#else
  (void)index;
  return std::nullopt;
#endif
}

// The device's PCI bus id as NVML spells it ("00000000:3B:00.0"), to find the same GPU through NVML
// whatever CUDA_VISIBLE_DEVICES reorders; empty in CPU-only builds.
inline std::string cuda_pci_bus_id(int index) {
#ifdef DLTRAIN_WITH_CUDA
  const auto* p = at::cuda::getDeviceProperties(index);
  char text[32];
  std::snprintf(text, sizeof(text), "%08X:%02X:%02X.0", static_cast<unsigned>(p->pciDomainID),
                static_cast<unsigned>(p->pciBusID), static_cast<unsigned>(p->pciDeviceID));
  return text;
#else
  (void)index;
  return "";
#endif
}

}  // namespace dltrain::compat
