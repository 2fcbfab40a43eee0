// Every difference between LibTorch 1.13 (Debian, CPU) and LibTorch 2.x (CUDA builds) lives here.
#pragma once

#include <string>

#include <torch/torch.h>
#include <torch/version.h>

#if defined(__has_include)
#if __has_include(<ATen/cuda/CUDAContext.h>) && defined(DLTRAIN_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
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

}  // namespace dltrain::compat
