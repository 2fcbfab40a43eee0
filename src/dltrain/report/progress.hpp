// Training progress: a live bar with rate and ETA on a terminal, plain periodic log lines otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dltrain::report {

class Progress {
 public:
  // `log_interval`: steps between lines when stderr is not a terminal. `enabled` false: silent.
  Progress(int64_t epochs, int64_t steps_per_epoch, int64_t batch_size, int64_t log_interval, bool enabled);

  void start_epoch(int64_t epoch);
  // Whether step `step` (0-based within the epoch) should be shown; the caller then reads its
  // running loss and accuracy (a host sync) and calls show(). Cheap: a counter or a clock read.
  bool due(int64_t step);
  void show(int64_t step, double loss, double accuracy);
  // Clears the live bar before a normal log line is printed.
  void end_epoch();

 private:
  using Clock = std::chrono::steady_clock;
  int64_t epochs_;
  int64_t steps_per_epoch_;
  int64_t batch_size_;
  int64_t log_interval_;
  bool enabled_;
  bool tty_;
  int64_t epoch_ = 0;
  Clock::time_point epoch_start_;
  Clock::time_point last_draw_;
};

// "1:05" / "1:02:05" for a duration in seconds.
std::string format_duration(double seconds);

}  // namespace dltrain::report
