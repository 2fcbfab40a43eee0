// Device choice, CPU threads, the allocator and the environment facts that decide training speed.
#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "dltrain/device/monitor.hpp"

namespace dltrain::device {

// Keeps glibc from returning large tensor buffers to the OS after every step (mmap/munmap and heap
// trimming turn each step's allocations into page faults). Call first thing in main().
// DLTRAIN_ALLOCATOR=system leaves glibc's defaults alone (for benchmarks).
void tune_allocator();
bool allocator_tuned();

// "auto" -> CUDA if available else CPU (logged); "cpu"; "cuda"; "cuda:N". Throws DeviceError when the
// device does not exist or this build has no CUDA.
torch::Device resolve(const std::string& name);

// Cores this process may run on (sched_getaffinity), at least 1.
int available_cores();
// Sets LibTorch's intra-op threads: `requested`, or available_cores() when 0. Returns the count in use.
int configure_threads(int64_t requested);

// "model name" from /proc/cpuinfo.
std::string cpu_model();
// Which BLAS library the dynamic linker bound (its mapped path), e.g. .../openblas-openmp/libblas.so.3.
std::string blas_library();

// "12.4" for a CUDA version encoded as 1000 * major + 10 * minor (12040), as CUDA does.
std::string cuda_version_text(int version);

// Versions (LibTorch, the CUDA it was built for, CUDA runtime, cuDNN), device, threads, BLAS and allocator
// as one JSON object for report.json.
nlohmann::json environment(const torch::Device& device);

// What the training monitor watches on `device`: the process, plus the GPU through NVML on CUDA (matched by
// PCI bus id). Without NVML a CUDA run logs why and monitors the process only.
MonitorOptions monitor_options(const torch::Device& device, double interval_s);

// Peak resident set size of this process in MiB (from getrusage).
double peak_rss_mib();

// Whether a LibTorch error is an allocation failure (CUDA out of memory, or the CPU allocator's): a device error
// the user can act on (exit 6), not a bug.
bool is_out_of_memory(const c10::Error& error);
// The hint for an out-of-memory error.
inline constexpr const char* kOutOfMemoryHint =
    "lower train.batch_size (or eval.batch_size), use a smaller model, or free the device's memory (nvidia-smi)";

}  // namespace dltrain::device
