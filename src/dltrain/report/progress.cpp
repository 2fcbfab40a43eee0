// Progress display; the bar redraws at most 4 times a second so it never costs the loop anything.
#include "dltrain/report/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "dltrain/core/log.hpp"

namespace dltrain::report {

std::string format_duration(double seconds) {
  const auto total = static_cast<long long>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", total / 3600, (total / 60) % 60, total % 60);
  } else {
    std::snprintf(text, sizeof(text), "%lld:%02lld", total / 60, total % 60);
  }
  return text;
}

Progress::Progress(int64_t epochs, int64_t steps_per_epoch, int64_t batch_size, int64_t log_interval, bool enabled)
    : epochs_(epochs),
      steps_per_epoch_(steps_per_epoch),
      batch_size_(batch_size),
      log_interval_(log_interval),
      enabled_(enabled),
      tty_(::isatty(STDERR_FILENO) == 1) {}

void Progress::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  epoch_start_ = last_draw_ = Clock::now();
}

bool Progress::due(int64_t step) {
  if (!enabled_) return false;
  if (!tty_) return (step + 1) % log_interval_ == 0;
  if (step + 1 == steps_per_epoch_) return true;
  return Clock::now() - last_draw_ > std::chrono::milliseconds(250);
}

void Progress::show(int64_t step, double loss, double accuracy) {
  last_draw_ = Clock::now();
  const double elapsed = std::chrono::duration<double>(last_draw_ - epoch_start_).count();
  const double done = static_cast<double>(step + 1);
  const double rate = elapsed > 0 ? done * static_cast<double>(batch_size_) / elapsed : 0.0;
  const double step_seconds = elapsed / done;
  const double eta_epoch = static_cast<double>(steps_per_epoch_ - step - 1) * step_seconds;
  const double eta_run = eta_epoch + static_cast<double>((epochs_ - epoch_) * steps_per_epoch_) * step_seconds;
  char text[256];
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * done / static_cast<double>(steps_per_epoch_));
    std::string bar(static_cast<size_t>(filled), '=');
    bar.resize(kWidth, ' ');
    std::snprintf(text, sizeof(text), "\r\033[Kepoch %lld/%lld [%s] %lld/%lld  %.0f img/s  loss %.4f  acc %.2f%%  ETA %s (run %s)",
                  static_cast<long long>(epoch_), static_cast<long long>(epochs_), bar.c_str(),
                  static_cast<long long>(step + 1), static_cast<long long>(steps_per_epoch_), rate, loss,
                  100.0 * accuracy, format_duration(eta_epoch).c_str(), format_duration(eta_run).c_str());
    std::fputs(text, stderr);
    std::fflush(stderr);
  } else {
    std::snprintf(text, sizeof(text), "epoch %lld/%lld step %lld/%lld  loss %.4f  acc %.2f%%  %.0f img/s  ETA %s",
                  static_cast<long long>(epoch_), static_cast<long long>(epochs_), static_cast<long long>(step + 1),
                  static_cast<long long>(steps_per_epoch_), loss, 100.0 * accuracy, rate,
                  format_duration(eta_run).c_str());
    log::info(text);
  }
}

void Progress::end_epoch() {
  if (enabled_ && tty_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

}  // namespace dltrain::report
