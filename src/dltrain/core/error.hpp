// Typed errors and the exit codes they map to; only main() catches them (docs/ARCHITECTURE.md, "Errors and exit codes").
#pragma once

#include <stdexcept>
#include <string>

namespace dltrain {

enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,
  kExitUsage = 2,
  kExitConfig = 3,
  kExitData = 4,
  kExitCheckpoint = 5,
  kExitDevice = 6,
  kExitDiverged = 7,
  kExitIo = 8,
  kExitCheck = 9,
  kExitDistributed = 10,
  kExitBelowBound = 11,  // --fail-under: not an error; the run's files are all written
  kExitInterrupted = 130,
};

// An error a user can act on: a one-line message plus an optional "hint:" line.
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, std::string hint = {})
      : std::runtime_error(message), hint_(std::move(hint)) {}
  const std::string& hint() const { return hint_; }
  virtual ExitCode exit_code() const = 0;

 private:
  std::string hint_;
};

#define DLTRAIN_ERROR_TYPE(Name, code)                 \
  class Name : public Error {                          \
   public:                                             \
    using Error::Error;                                \
    ExitCode exit_code() const override { return code; } \
  }

DLTRAIN_ERROR_TYPE(UsageError, kExitUsage);
DLTRAIN_ERROR_TYPE(ConfigError, kExitConfig);
DLTRAIN_ERROR_TYPE(DataError, kExitData);
DLTRAIN_ERROR_TYPE(CheckpointError, kExitCheckpoint);
DLTRAIN_ERROR_TYPE(DeviceError, kExitDevice);
DLTRAIN_ERROR_TYPE(TrainingDiverged, kExitDiverged);
DLTRAIN_ERROR_TYPE(IoError, kExitIo);
DLTRAIN_ERROR_TYPE(DistributedError, kExitDistributed);
DLTRAIN_ERROR_TYPE(Interrupted, kExitInterrupted);

#undef DLTRAIN_ERROR_TYPE

// The exit-code table as shown in --help and the README.
std::string exit_code_help();

}  // namespace dltrain
