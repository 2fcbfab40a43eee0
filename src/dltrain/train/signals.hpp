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
// What the first signal does, for tests and callers that stop a run from inside the process.
void request_stop();

}  // namespace dltrain::train
