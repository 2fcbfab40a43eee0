// Progress display; the live line redraws at most 4 times a second so it never costs the loop anything.
#include "dltrain/report/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "dltrain/core/format.hpp"
#include "dltrain/core/log.hpp"

namespace dltrain::report {
namespace {

constexpr int kMaxWidth = 80;
constexpr auto kRedraw = std::chrono::milliseconds(250);

// The terminal's width, at most 80 columns (and 80 when it cannot be read).
int terminal_width() {
  struct winsize size {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 20) return std::min<int>(size.ws_col, kMaxWidth);
  return kMaxWidth;
}

}  // namespace

std::string format_duration(double seconds) {
  const auto total = static_cast<long long>(seconds + 0.5);
  if (total >= 3600) return format("%lld:%02lld:%02lld", total / 3600, (total / 60) % 60, total % 60);
  return format("%lld:%02lld", total / 60, total % 60);
}

std::string progress_line(int width, int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double images_per_second,
                          double loss, double accuracy, double eta_epoch, double eta_run) {
  const std::string head = format("epoch %lld/%lld ", static_cast<long long>(epoch), static_cast<long long>(epochs));
  const std::string tail = format(" %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %s/%s", static_cast<long long>(step),
                                  static_cast<long long>(steps), loss, 100.0 * accuracy, images_per_second,
                                  format_duration(eta_epoch).c_str(), format_duration(eta_run).c_str());
  // The bar takes what is left of the line (the last column stays free: writing it wraps some terminals).
  const int room = width - 1 - static_cast<int>(head.size() + tail.size()) - 2;
  std::string bar;
  if (room >= 6) {
    const int cells = std::min(room, 20);
    const auto filled = static_cast<size_t>(cells * step / std::max<int64_t>(1, steps));
    bar = "[" + std::string(filled, '=') + std::string(static_cast<size_t>(cells) - filled, ' ') + "]";
  }
  return (head + bar + tail).substr(0, static_cast<size_t>(width - 1));
}

Progress::Progress(int64_t epochs, int64_t steps_per_epoch, int64_t batch_size, int64_t log_interval, bool enabled)
    : epochs_(epochs),
      steps_per_epoch_(steps_per_epoch),
      batch_size_(batch_size),
      log_interval_(log_interval),
      enabled_(enabled && log::console_shows_info()),
      tty_(::isatty(STDERR_FILENO) == 1),
      width_(terminal_width()) {}

void Progress::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  epoch_start_ = last_draw_ = Clock::now();
}

bool Progress::due(int64_t step) {
  if (!enabled_) return false;
  if (!tty_) return (step + 1) % log_interval_ == 0;
  if (step + 1 == steps_per_epoch_) return true;
  return Clock::now() - last_draw_ > kRedraw;
}

void Progress::show(int64_t step, double loss, double accuracy) {
  last_draw_ = Clock::now();
  const double elapsed = std::chrono::duration<double>(last_draw_ - epoch_start_).count();
  const double done = static_cast<double>(step + 1);
  const double rate = elapsed > 0 ? done * static_cast<double>(batch_size_) / elapsed : 0.0;
  const double step_seconds = elapsed / done;
  const double eta_epoch = static_cast<double>(steps_per_epoch_ - step - 1) * step_seconds + eval_seconds_;
  const double eta_run =
      eta_epoch + static_cast<double>(epochs_ - epoch_) * (static_cast<double>(steps_per_epoch_) * step_seconds + eval_seconds_);
  if (tty_) {
    draw(progress_line(width_, epoch_, epochs_, step + 1, steps_per_epoch_, rate, loss, accuracy, eta_epoch, eta_run));
  } else {
    log::info(format("epoch %lld/%lld step %lld/%lld  loss %.4f  acc %.2f%%  %.0f img/s  ETA %s",
                     static_cast<long long>(epoch_), static_cast<long long>(epochs_), static_cast<long long>(step + 1),
                     static_cast<long long>(steps_per_epoch_), loss, 100.0 * accuracy, rate,
                     format_duration(eta_run).c_str()));
  }
}

void Progress::show_eval(const std::string& split, int64_t done, int64_t total) {
  if (!enabled_ || !tty_ || (done < total && Clock::now() - last_draw_ <= kRedraw)) return;
  last_draw_ = Clock::now();
  draw(format("epoch %lld/%lld evaluating %s %lld/%lld", static_cast<long long>(epoch_), static_cast<long long>(epochs_),
              split.c_str(), static_cast<long long>(done), static_cast<long long>(total))
           .substr(0, static_cast<size_t>(width_ - 1)));
}

void Progress::draw(const std::string& line) {
  std::fputs(("\r\033[K" + line).c_str(), stderr);
  std::fflush(stderr);
}

void Progress::clear() {
  if (enabled_ && tty_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

}  // namespace dltrain::report
