// Every difference between LibTorch 1.13 (Debian, CPU) and LibTorch 2.x (CUDA builds) lives here.
#pragma once

#include <optional>
#include <string>

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "dltrain/core/format.hpp"

#if defined(__has_include)
#if __has_include(<ATen/cuda/CUDAContext.h>) && defined(DLTRAIN_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif
#endif

// LibTorch 2.4 or newer: the autocast functions that take a device type, and _foreach_ ops with a tensor scalar.
#define DLTRAIN_TORCH_2_4 (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))

// c10d (data-parallel training, dist/group.cpp): its collective backends derive from c10d::Backend in LibTorch 2.x
// and from c10d::ProcessGroup in 1.13. Declared here; the c10d headers come with the file that uses them.
namespace c10d {
class Backend;
class ProcessGroup;
}  // namespace c10d

namespace dltrain::compat {

#if TORCH_VERSION_MAJOR >= 2
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

// LibTorch 2.x's TCPStore serves through libuv by default; dltrain uses the classic server on every version, so
// that the store behaves alike everywhere.
template <class TcpStoreOptions>
void use_classic_tcp_store(TcpStoreOptions& options) {
#if TORCH_VERSION_MAJOR >= 2
  options.useLibUV = false;
#else
  (void)options;
#endif
}

#ifdef DLTRAIN_WITH_CUDA
inline constexpr bool kHasCudaBuild = true;
#else
inline constexpr bool kHasCudaBuild = false;
#endif

inline std::string torch_version() { return TORCH_VERSION; }

namespace adl {
template <typename>
void get() = delete;  // lets get<T>(v) below find the variant's own get by argument-dependent lookup
}  // namespace adl

// A Conv2d's padding as numbers per side: a c10::variant in LibTorch 1.13, a std::variant in 2.x.
inline torch::ExpandingArray<2> conv_padding(const torch::nn::detail::ConvNdOptions<2>& options) {
  using adl::get;
  return get<torch::ExpandingArray<2>>(options.padding());
}

inline constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

inline std::string cuda_device_name(int index) {
#ifdef DLTRAIN_WITH_CUDA
  return at::cuda::getDeviceProperties(index)->name;
#else
  (void)index;
  return "none";
#endif
}

// Autocast to `dtype` on `device` for this object's lifetime, as `with torch.autocast(...)` does: the previous
// state comes back at exit and the cache of cast weights is cleared (the weights change every step).
// LibTorch 2.4 replaced the per-device functions (set_cpu_enabled, set_autocast_gpu_dtype, ...) with
// functions that take the device type.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, at::ScalarType dtype) : device_(device) {
#if DLTRAIN_TORCH_2_4
    was_enabled_ = at::autocast::is_autocast_enabled(device);
    was_dtype_ = at::autocast::get_autocast_dtype(device);
    at::autocast::set_autocast_enabled(device, true);
    at::autocast::set_autocast_dtype(device, dtype);
#else
    const bool cpu = device == c10::DeviceType::CPU;
    was_enabled_ = cpu ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
    was_dtype_ = cpu ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
    if (cpu) {
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(dtype);
    } else {
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(dtype);
    }
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if DLTRAIN_TORCH_2_4
    at::autocast::set_autocast_enabled(device_, was_enabled_);
    at::autocast::set_autocast_dtype(device_, was_dtype_);
#else
    if (device_ == c10::DeviceType::CPU) {
      at::autocast::set_cpu_enabled(was_enabled_);
      at::autocast::set_autocast_cpu_dtype(was_dtype_);
    } else {
      at::autocast::set_enabled(was_enabled_);
      at::autocast::set_autocast_gpu_dtype(was_dtype_);
    }
#endif
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kFloat;
};

// list[i] *= scale, and params[i] += scale * updates[i], where `scale` is a 0-dim tensor on their device and of
// their dtype that the kernels read (a host Scalar would be frozen into a CUDA graph). LibTorch 2.4+ does each list in one multi-tensor
// kernel; 1.13 has no tensor-scalar _foreach_ ops, so there it is one kernel per tensor.
inline void foreach_mul_(at::TensorList list, const at::Tensor& scale) {
#if DLTRAIN_TORCH_2_4
  at::_foreach_mul_(list, scale);
#else
  for (const at::Tensor& t : list) t.mul_(scale);
#endif
}

inline void foreach_add_scaled_(at::TensorList params, at::TensorList updates, const at::Tensor& scale) {
#if DLTRAIN_TORCH_2_4
  at::_foreach_add_(params, at::_foreach_mul(updates, scale));
#else
  for (size_t i = 0; i < params.size(); ++i) params[i].addcmul_(updates[i], scale);
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

inline std::optional<int> cuda_capability_major(int index) {
#ifdef DLTRAIN_WITH_CUDA
  return at::cuda::getDeviceProperties(index)->major;
#else
  (void)index;
  return std::nullopt;
#endif
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
  return dltrain::format("%08X:%02X:%02X.0", static_cast<unsigned>(p->pciDomainID), static_cast<unsigned>(p->pciBusID),
                         static_cast<unsigned>(p->pciDeviceID));
#else
  (void)index;
  return "";
#endif
}

// Peak memory allocated by LibTorch on a GPU since the last reset, in MiB; 0 in CPU-only builds.
inline double cuda_peak_allocated_mib(int index) {
#ifdef DLTRAIN_WITH_CUDA
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  return static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);  // [0]: all pools together
#else
  (void)index;
  return 0.0;
#endif
}

inline void cuda_reset_peak_memory(int index) {
#ifdef DLTRAIN_WITH_CUDA
  c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(index));
#else
  (void)index;
#endif
}

}  // namespace dltrain::compat
