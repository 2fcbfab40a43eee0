// Per-step training time without slowing the steps: the host clock on the CPU (a CPU step has finished
// when its last op returns); CUDA events on a GPU, read back once per epoch so no step waits for the device.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <torch/torch.h>

namespace dltrain::train {

class StepTimer {
 public:
  explicit StepTimer(const torch::Device& device);
  ~StepTimer();
  StepTimer(const StepTimer&) = delete;
  StepTimer& operator=(const StepTimer&) = delete;

  void start();
  void stop();
  // Moves the finished steps' durations into seconds() (on a GPU this waits for the last step). The first
  // step of the process (warm-up: allocation, cuDNN autotuning) is kept apart in first_step_seconds().
  void collect();
  const std::vector<double>& seconds() const { return seconds_; }
  double first_step_seconds() const { return first_step_s_; }  // < 0 until a first step ran

 private:
  using Clock = std::chrono::steady_clock;
  torch::Device device_;
  Clock::time_point begin_;
  std::vector<double> seconds_;
  double first_step_s_ = -1;
  struct Events;  // CUDA builds only
  std::unique_ptr<Events> events_;
};

}  // namespace dltrain::train
