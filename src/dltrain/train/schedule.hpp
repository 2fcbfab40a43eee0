// Learning-rate schedules as a pure function of the step: nothing to save, nothing to drift on resume.
#pragma once

#include <cstdint>

#include "dltrain/config/config.hpp"

namespace dltrain::train {

struct ScheduleShape {
  double base_lr;           // the optimizer's lr
  int64_t steps_per_epoch;  // optimizer steps in one epoch
  int64_t epochs;           // planned epochs
};

// The learning rate for optimizer step `step` (0-based, counted over the whole run).
// step, multistep and exponential change once per epoch (as PyTorch's StepLR etc. stepped per
// epoch); cosine (with linear warm-up) and onecycle (PyTorch's OneCycleLR, cosine) change every step.
double lr_at(const config::SchedulerConfig& config, const ScheduleShape& shape, int64_t step);

}  // namespace dltrain::train
