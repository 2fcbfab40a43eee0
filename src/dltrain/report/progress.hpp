// Training progress: a live bar with rate and ETA on a terminal (one line that fits the terminal, at most 80
// columns, redrawn in place), plain periodic log lines otherwise; silent with --no-progress or -q.
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
  // An evaluation pass: `done` of `total` images of `split` ("val", "test"). On a terminal only.
  void show_eval(const std::string& split, int64_t done, int64_t total);
  // The seconds one epoch's evaluation took, which the run's ETA adds for each epoch left.
  void set_eval_seconds(double seconds) { eval_seconds_ = seconds; }
  // Clears the live line before a normal log line is printed.
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  void draw(const std::string& line);
  int64_t epochs_;
  int64_t steps_per_epoch_;
  int64_t batch_size_;
  int64_t log_interval_;
  bool enabled_;
  bool tty_;
  int width_;  // columns the live line may use
  int64_t epoch_ = 0;
  double eval_seconds_ = 0.0;
  Clock::time_point epoch_start_;
  Clock::time_point last_draw_;
};

// "1:05" / "1:02:05" for a duration in seconds.
std::string format_duration(double seconds);

// The live line for a terminal `width` columns wide: "epoch 3/10 [====      ] 412/937 ..." cut to width - 1.
std::string progress_line(int width, int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double images_per_second,
                          double loss, double accuracy, double eta_epoch, double eta_run);

}  // namespace dltrain::report
