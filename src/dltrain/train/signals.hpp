// SIGINT/SIGTERM/SIGHUP handling: the first signal asks the loop to stop after the current step; a second
// one exits at once (files are only ever replaced by rename, so none is left half-written).
#pragma once

namespace dltrain::train {

// Installs the handlers for the lifetime of the returned guard and clears any earlier request.
class StopSignalGuard {
 public:
  StopSignalGuard();
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;
};

bool stop_requested();
// Data-parallel workers: further signals within `seconds` of the first count as the same one. A terminal's Ctrl-C
// reaches torchrun and its workers at once, and torchrun then forwards it to them: that second SIGINT must not
// quit a worker before rank 0 has saved.
void set_repeat_grace(double seconds);
// What the first signal does, for tests and callers that stop a run from inside the process.
void request_stop();

}  // namespace dltrain::train
