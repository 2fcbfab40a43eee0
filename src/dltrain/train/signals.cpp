// Signal handlers that only set an atomic flag (async-signal-safe); the loop polls it each step.
#include "dltrain/train/signals.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>

namespace dltrain::train {
namespace {

std::atomic<int> g_signals{0};
std::atomic<int64_t> g_first_ns{0};  // CLOCK_MONOTONIC time of the first signal
std::atomic<int64_t> g_grace_ns{0};
struct sigaction g_old_int {};
struct sigaction g_old_term {};
struct sigaction g_old_hup {};

int64_t monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);  // async-signal-safe
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

void on_signal(int) {
  const int64_t now = monotonic_ns();
  if (g_signals.load() >= 1 && now - g_first_ns.load() < g_grace_ns.load()) return;  // the same stop, forwarded
  if (g_signals.fetch_add(1) >= 1) _exit(130);
  g_first_ns = now;
  const char message[] = "\nstopping after this step and saving a checkpoint (press Ctrl-C again to quit at once)\n";
  (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
}

}  // namespace

StopSignalGuard::StopSignalGuard() {
  g_signals = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_old_int);
  sigaction(SIGTERM, &action, &g_old_term);
  sigaction(SIGHUP, &action, &g_old_hup);  // a closed terminal or a dropped SSH connection
}

StopSignalGuard::~StopSignalGuard() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  sigaction(SIGHUP, &g_old_hup, nullptr);
}

void request_stop() { g_signals.fetch_add(1); }

void set_repeat_grace(double seconds) { g_grace_ns = static_cast<int64_t>(seconds * 1e9); }

bool stop_requested() { return g_signals.load(std::memory_order_relaxed) > 0; }

}  // namespace dltrain::train
