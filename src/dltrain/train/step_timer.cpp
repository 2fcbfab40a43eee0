// Host clock on the CPU, CUDA events on a GPU.
#include "dltrain/train/step_timer.hpp"

#include <deque>

#ifdef DLTRAIN_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#endif

namespace dltrain::train {

#ifdef DLTRAIN_WITH_CUDA
struct StepTimer::Events {
  std::deque<at::cuda::CUDAEvent> starts, ends;  // deque: events are built in place and never moved
};
#else
struct StepTimer::Events {};
#endif

StepTimer::StepTimer(const torch::Device& device) : device_(device), events_(std::make_unique<Events>()) {}

StepTimer::~StepTimer() = default;

void StepTimer::start() {
  begin_ = Clock::now();
#ifdef DLTRAIN_WITH_CUDA
  if (device_.is_cuda() && first_step_s_ >= 0) {
    events_->starts.emplace_back(cudaEventDefault);  // cudaEventDefault: with timing
    events_->starts.back().record(at::cuda::getCurrentCUDAStream(device_.index()));
  }
#endif
}

void StepTimer::stop() {
  if (first_step_s_ < 0) {
    // The warm-up step, timed whole on the host: on a GPU, wait for it to finish.
    if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
    first_step_s_ = std::chrono::duration<double>(Clock::now() - begin_).count();
    return;
  }
#ifdef DLTRAIN_WITH_CUDA
  if (device_.is_cuda()) {
    events_->ends.emplace_back(cudaEventDefault);
    events_->ends.back().record(at::cuda::getCurrentCUDAStream(device_.index()));
    return;
  }
#endif
  seconds_.push_back(std::chrono::duration<double>(Clock::now() - begin_).count());
}

void StepTimer::collect() {
#ifdef DLTRAIN_WITH_CUDA
  if (events_->ends.empty()) return;
  events_->ends.back().synchronize();
  for (size_t i = 0; i < events_->ends.size(); ++i) {
    seconds_.push_back(events_->starts[i].elapsed_time(events_->ends[i]) / 1000.0);
  }
  events_->starts.clear();
  events_->ends.clear();
#endif
}

}  // namespace dltrain::train
