// Learning-rate schedules (see schedule.hpp).
#include "dltrain/train/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace dltrain::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Cosine interpolation from `start` (pct 0) to `end` (pct 1).
double cosine(double start, double end, double pct) { return end + (start - end) / 2.0 * (1.0 + std::cos(kPi * pct)); }

// Linear warm-up over warmup_epochs, then cosine decay to min_lr at the last step of the run's `total` steps.
double cosine_with_warmup(const config::SchedulerConfig& c, const ScheduleShape& shape, int64_t step, int64_t total) {
  const auto warmup = static_cast<int64_t>(std::llround(c.warmup_epochs * static_cast<double>(shape.steps_per_epoch)));
  if (step < warmup) return shape.base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double pct = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  return cosine(shape.base_lr, c.min_lr, std::min(1.0, pct));
}

// PyTorch's OneCycleLR with cosine annealing; steps past the last keep its final lr.
double one_cycle(const config::SchedulerConfig& c, double base, int64_t step, int64_t total) {
  const double max_lr = c.max_lr > 0 ? c.max_lr : base;
  const double initial = max_lr / c.div_factor;
  const double final_lr = initial / c.final_div_factor;
  const double peak_step = c.pct_start * static_cast<double>(total) - 1.0;
  const double last_step = static_cast<double>(total) - 1.0;
  const auto s = static_cast<double>(std::min(step, total - 1));
  if (s <= peak_step) return cosine(initial, max_lr, peak_step > 0 ? s / peak_step : 1.0);
  return cosine(max_lr, final_lr, (s - peak_step) / std::max(1e-12, last_step - peak_step));
}

}  // namespace

double lr_at(const config::SchedulerConfig& c, const ScheduleShape& shape, int64_t step) {
  const double base = shape.base_lr;
  const int64_t epoch = step / std::max<int64_t>(1, shape.steps_per_epoch);
  const int64_t total = std::max<int64_t>(1, shape.steps_per_epoch * shape.epochs);
  using config::Scheduler;
  switch (c.name) {
    case Scheduler::kConstant:
      return base;
    case Scheduler::kStep:
      return base * std::pow(c.gamma, static_cast<double>(epoch / c.step_size));
    case Scheduler::kMultiStep:
      return base * std::pow(c.gamma, static_cast<double>(std::count_if(c.milestones.begin(), c.milestones.end(),
                                                                        [&](int64_t m) { return m <= epoch; })));
    case Scheduler::kExponential:
      return base * std::pow(c.gamma, static_cast<double>(epoch));
    case Scheduler::kCosine:
      return cosine_with_warmup(c, shape, step, total);
    case Scheduler::kOneCycle:
      return one_cycle(c, base, step, total);
  }
  throw std::logic_error("scheduler without a formula");  // unreachable: the switch covers the enum
}

}  // namespace dltrain::train
