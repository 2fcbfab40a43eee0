// Learning-rate schedules against their definitions (PyTorch's StepLR, MultiStepLR, OneCycleLR...).
#include "dltrain/train/schedule.hpp"

#include "catch_compat.hpp"

#include <cmath>

using namespace dltrain;

namespace {

config::SchedulerConfig sched(const std::string& text) {
  return config::parse(nlohmann::json::parse(R"({"train": {"scheduler": )" + text + "}}"), "s").train.scheduler;
}

}  // namespace

TEST_CASE("per-epoch schedules", "[schedule]") {
  const train::ScheduleShape shape{1.0, 100, 10};
  const auto step = sched(R"({"name": "step", "step_size": 2, "gamma": 0.5})");
  CHECK(train::lr_at(step, shape, 0) == 1.0);
  CHECK(train::lr_at(step, shape, 199) == 1.0);
  CHECK(train::lr_at(step, shape, 200) == 0.5);
  CHECK(train::lr_at(step, shape, 450) == 0.25);
  const auto multi = sched(R"({"name": "multistep", "milestones": [3, 7], "gamma": 0.1})");
  CHECK(train::lr_at(multi, shape, 299) == 1.0);
  CHECK(train::lr_at(multi, shape, 300) == Approx(0.1));
  CHECK(train::lr_at(multi, shape, 700) == Approx(0.01));
  CHECK(train::lr_at(sched(R"({"name": "exponential", "gamma": 0.9})"), shape, 300) == Approx(0.729));
  CHECK(train::lr_at(sched(R"({"name": "constant"})"), shape, 999) == 1.0);
}

TEST_CASE("cosine with warm-up", "[schedule]") {
  const train::ScheduleShape shape{1.0, 100, 10};
  const auto c = sched(R"({"name": "cosine", "warmup_epochs": 1, "min_lr": 0.1})");
  CHECK(train::lr_at(c, shape, 0) == Approx(0.01));
  CHECK(train::lr_at(c, shape, 99) == Approx(1.0));
  CHECK(train::lr_at(c, shape, 100) == Approx(1.0));
  CHECK(train::lr_at(c, shape, 550) == Approx(0.55));  // halfway through the cosine part
  CHECK(train::lr_at(c, shape, 1000) == Approx(0.1));
}

TEST_CASE("onecycle matches PyTorch's OneCycleLR (cos, two phases)", "[schedule]") {
  const train::ScheduleShape shape{0.01, 50, 2};  // 100 steps
  const auto c = sched(R"({"name": "onecycle", "max_lr": 0.1})");
  const double initial = 0.1 / 25, final_lr = initial / 1e4;
  CHECK(train::lr_at(c, shape, 0) == Approx(initial));
  CHECK(train::lr_at(c, shape, 29) == Approx(0.1));  // pct_start 0.3: peak at step 0.3 * 100 - 1
  CHECK(train::lr_at(c, shape, 99) == Approx(final_lr));
  const double pct = 20.0 / 29.0;  // step 20, rising
  CHECK(train::lr_at(c, shape, 20) == Approx(0.1 + (initial - 0.1) / 2 * (1 + std::cos(M_PI * pct))));
}
