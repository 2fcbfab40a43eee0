// Seeds and sweeps (src/dltrain/sweep/): --grid parsing and its errors, the combinations' order and count, seeds,
// run names, the statistics (mean, sample std, min, max), the rows' order, the tables, sweep.json read back, and the
// plan's validation of every run's config. The child processes are tested by tests/cli/sweep.sh.
#include <cmath>

#include "catch_compat.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/sweep/sweep.hpp"
#include "helpers.hpp"

using namespace dltrain;

namespace {

// A plan of `combos` x `seeds`, made by hand (no config file), every run completed.
sweep::Plan hand_plan(const std::vector<sweep::Axis>& grid, const std::vector<int64_t>& seeds) {
  sweep::Plan plan;
  plan.dir = "sw";
  plan.grid = grid;
  plan.combinations = sweep::combinations(grid);
  plan.seeds = seeds;
  for (size_t c = 0; c < plan.combinations.size(); ++c) {
    for (const int64_t seed : seeds) {
      sweep::Run run;
      run.id = static_cast<int64_t>(plan.runs.size()) + 1;
      run.combination = c;
      run.seed = seed;
      run.name = "r" + std::to_string(run.id);
      run.run_dir = "runs/" + run.name;
      run.status = "completed";
      run.exit_code = 0;
      plan.runs.push_back(run);
    }
  }
  return plan;
}

sweep::Outcome outcome(double accuracy, double train_s = 1.0, int64_t epochs = 3) {
  sweep::Outcome o;
  o.accuracy = accuracy;
  o.train_s = train_s;
  o.epochs = epochs;
  return o;
}

}  // namespace

TEST_CASE("sweep --grid: key and values, commas inside brackets, braces and strings stay", "[sweep]") {
  const sweep::Axis a = sweep::parse_axis("train.optimizer.lr=0.01, 0.003");
  CHECK(a.key == "train.optimizer.lr");
  CHECK(a.values == std::vector<std::string>{"0.01", "0.003"});
  CHECK(sweep::parse_axis("model.hidden=[32],[64,64]").values == std::vector<std::string>{"[32]", "[64,64]"});
  CHECK(sweep::parse_axis(R"(train.optimizer={"name":"sgd","lr":0.1},{"name":"adam"})").values ==
        std::vector<std::string>{R"({"name":"sgd","lr":0.1})", R"({"name":"adam"})"});
  CHECK(sweep::parse_axis(R"(run.tag="a,b",c)").values == std::vector<std::string>{R"("a,b")", "c"});
  CHECK(sweep::parse_axis(R"(k="a\",b",c)").values == std::vector<std::string>{R"("a\",b")", "c"});
  CHECK(sweep::parse_axis("train.epochs=3").values == std::vector<std::string>{"3"});
}

TEST_CASE("sweep --grid: malformed ones are usage errors that name the --grid", "[sweep]") {
  for (const char* bad : {"train.optimizer.lr", "train.optimizer.lr=", "train.optimizer.lr=0.1,", "lr=0.1,,0.2", "=1,2",
                          " =1", "lr=0.1,0.1", "run.seed=1,2", "run.name=a,b", "run.output_dir=x"}) {
    INFO(bad);
    try {
      sweep::parse_axis(bad);
      FAIL("no error");
    } catch (const UsageError& e) {
      CHECK_THAT(e.what(), ContainsText(std::string("--grid ") + bad));
      CHECK_FALSE(e.hint().empty());
    }
  }
}

TEST_CASE("sweep combinations: every one, the last axis fastest, no grid is one run per seed", "[sweep]") {
  const auto combos = sweep::combinations({sweep::parse_axis("a=1,2"), sweep::parse_axis("b=x,y,z")});
  REQUIRE(combos.size() == 6);
  CHECK(combos[0] == std::vector<std::string>{"a=1", "b=x"});
  CHECK(combos[1] == std::vector<std::string>{"a=1", "b=y"});
  CHECK(combos[3] == std::vector<std::string>{"a=2", "b=x"});
  CHECK(combos[5] == std::vector<std::string>{"a=2", "b=z"});
  CHECK(sweep::combinations({}) == std::vector<std::vector<std::string>>{{}});
  CHECK(sweep::combinations({sweep::parse_axis("a=1,2"), sweep::parse_axis("c=1"), sweep::parse_axis("b=1,2,3")}).size() == 6);
  CHECK_THROWS_AS(sweep::combinations({sweep::parse_axis("a=1"), sweep::parse_axis("a=2")}), UsageError);
}

TEST_CASE("sweep seeds: --seeds as given, --repeat from run.seed, else run.seed alone", "[sweep]") {
  CHECK(sweep::seed_list({3, 1, 2}, 0, 7) == std::vector<int64_t>{3, 1, 2});
  CHECK(sweep::seed_list({}, 3, 7) == std::vector<int64_t>{7, 8, 9});
  CHECK(sweep::seed_list({}, 0, 7) == std::vector<int64_t>{7});
  CHECK_THROWS_AS(sweep::seed_list({1, 2, 1}, 0, 7), UsageError);
  CHECK_THROWS_AS(sweep::seed_list({1}, 2, 7), UsageError);
}

TEST_CASE("sweep run names: the values' labels and the seed, folder-safe and distinct", "[sweep]") {
  const auto combos = sweep::combinations({sweep::parse_axis("train.optimizer.lr=0.01,0.003"),
                                           sweep::parse_axis("train.batch_size=64")});
  const auto labels = sweep::combination_labels(combos);
  CHECK(labels == std::vector<std::string>{"lr0.01-batch_size64", "lr0.003-batch_size64"});
  CHECK(sweep::run_name("tiny", labels[0], 2) == "tiny-lr0.01-batch_size64-seed2");
  CHECK(sweep::run_name("tiny", "", 2) == "tiny-seed2");
  CHECK(sweep::combination_labels(sweep::combinations({sweep::parse_axis("model.layers.0.p=0.1")})) ==
        std::vector<std::string>{"layers0p0.1"});
  CHECK(sweep::combination_labels(sweep::combinations({sweep::parse_axis("model.hidden.1=64")})) ==
        std::vector<std::string>{"hidden1_64"});
  // "[1/2]" and "[1 2]" are both "_1_2_" in a folder name: each label gets its combination's number.
  CHECK(sweep::combination_labels(sweep::combinations({sweep::parse_axis("k=[1/2],[1 2]")})) ==
        std::vector<std::string>{"c1-k_1_2_", "c2-k_1_2_"});
}

TEST_CASE("sweep statistics: mean, sample standard deviation (n-1), min, max, one value has no std", "[sweep]") {
  const sweep::Stats s = sweep::statistics({0.9, 0.7, 0.8});
  CHECK(s.n == 3);
  CHECK(s.mean == Approx(0.8));
  CHECK(s.std == Approx(0.1));  // sqrt((0.01 + 0.01 + 0) / 2)
  CHECK(s.min == 0.7);
  CHECK(s.max == 0.9);
  CHECK(sweep::statistics({0.5, 1.0}).std == Approx(std::sqrt(0.125)));
  const sweep::Stats one = sweep::statistics({0.97, sweep::kNaN});  // a run without a result does not count
  CHECK(one.n == 1);
  CHECK(one.mean == 0.97);
  CHECK(one.min == 0.97);
  CHECK(std::isnan(one.std));  // null in summary.json, "-" in the tables
  const sweep::Stats none = sweep::statistics({});
  CHECK(none.n == 0);
  CHECK(std::isnan(none.mean));
}

TEST_CASE("sweep rows: sorted by the mean, best first, runs without a result left out, ties in plan order", "[sweep]") {
  sweep::Plan plan = hand_plan({sweep::parse_axis("lr=a,b,c,d")}, {1, 2});
  plan.runs[6].status = "failed";  // d: nothing completed
  plan.runs[7].status = "interrupted";
  const std::vector<sweep::Outcome> outcomes = {outcome(0.90), outcome(0.92),  // a: 0.91
                                                outcome(0.95), outcome(0.97),  // b: 0.96
                                                outcome(0.90), outcome(0.92),  // c: 0.91, a tie with a
                                                outcome(0.99), outcome(0.99)};
  const std::vector<sweep::Row> rows = sweep::summarize(plan, outcomes);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].combination == 1);
  CHECK(rows[1].combination == 0);
  CHECK(rows[2].combination == 2);
  CHECK(rows[3].combination == 3);
  CHECK(rows[0].stats.mean == Approx(0.96));
  CHECK(rows[0].stats.std == Approx(std::sqrt(0.0002)));
  CHECK(rows[0].seeds == std::vector<int64_t>{1, 2});
  CHECK(rows[0].run_dirs == std::vector<std::string>{"sw/runs/r3", "sw/runs/r4"});
  CHECK(rows[3].stats.n == 0);
  CHECK(rows[3].runs == 2);

  const std::string text = sweep::table_text(plan, rows);
  CHECK_THAT(text, ContainsText("96.00% ± 1.41%"));
  CHECK(text.find("\n1  b ") != std::string::npos);
  CHECK(text.find("\n4  d ") != std::string::npos);
  const std::string md = sweep::table_markdown(plan, rows);
  CHECK(md.rfind("| # | lr | seeds | runs | test acc mean ± std |", 0) == 0);
  CHECK_THAT(md, ContainsText("| 1 | b | 1,2 | 2/2 | 96.00% ± 1.41% | 95.00% | 97.00% | 3 | 1.00 s |"));
  const nlohmann::json summary = sweep::summary_json(plan, rows, outcomes);
  CHECK(summary["rows"][0]["values"]["lr"] == "b");
  CHECK(summary["rows"][3]["mean"].is_null());
  CHECK(summary["complete"] == false);
  CHECK(summary["runs"].size() == 8);
}

TEST_CASE("sweep of one seed: the std is null and the table shows the mean alone", "[sweep]") {
  const sweep::Plan plan = hand_plan({}, {5});
  const std::vector<sweep::Row> rows = sweep::summarize(plan, {outcome(0.5)});
  REQUIRE(rows.size() == 1);
  CHECK(std::isnan(rows[0].stats.std));
  CHECK(sweep::summary_json(plan, rows, {outcome(0.5)})["rows"][0]["std"].is_null());
  CHECK_THAT(sweep::table_text(plan, rows), ContainsText("1/1   50.00%  "));
}

TEST_CASE("sweep.json reads back as the same plan, a foreign file is a data error", "[sweep]") {
  sweep::Plan plan = hand_plan({sweep::parse_axis("a=1,2"), sweep::parse_axis("b=[3,4]")}, {1, 2});
  plan.runs[1].status = "interrupted";
  plan.runs[1].exit_code = 130;
  plan.runs[2].run_dir.clear();
  plan.runs[2].exit_code.reset();
  plan.config_path = "/x/tiny.json";
  plan.sets = {"train.epochs=1"};
  plan.jobs = 2;
  const sweep::Plan back = sweep::plan_from_json(sweep::plan_json(plan), plan.dir);
  CHECK(sweep::plan_json(back) == sweep::plan_json(plan));
  CHECK(back.runs[1].exit_code == 130);
  CHECK(back.runs[2].run_dir.empty());
  CHECK(back.combinations == plan.combinations);
  CHECK_THROWS_AS(sweep::plan_from_json(nlohmann::json::object(), "x"), DataError);
  nlohmann::json bad = sweep::plan_json(plan);
  bad["runs"][0]["combination"] = 9;
  CHECK_THROWS_AS(sweep::plan_from_json(bad, "x"), DataError);
}

TEST_CASE("sweep make_plan: every run's config is checked before anything runs, names, seeds, overrides", "[sweep]") {
  testing::TempDir dir;
  const auto config = dir.path / "c.json";
  fs::atomic_write(config, R"({"run": {"name": "t", "seed": 4}, "train": {"epochs": 2}})");
  sweep::Request r;
  r.config = config.string();
  r.grid = {"train.epochs=1,3", "train.batch_size=16,32"};
  r.repeat = 2;
  const sweep::Plan plan = sweep::make_plan(r);
  REQUIRE(plan.runs.size() == 8);
  CHECK(plan.seeds == std::vector<int64_t>{4, 5});
  CHECK(plan.runs[0].name == "t-epochs1-batch_size16-seed4");
  CHECK(plan.runs[7].name == "t-epochs3-batch_size32-seed5");
  CHECK(sweep::run_overrides(plan, plan.runs[3]) ==
        std::vector<std::string>{"train.epochs=1", "train.batch_size=32", "run.seed=5",
                                 "run.name=\"t-epochs1-batch_size32-seed5\""});
  CHECK(plan.config_path.is_absolute());
  const auto entries = std::distance(std::filesystem::directory_iterator(dir.path), std::filesystem::directory_iterator());
  CHECK(entries == 1);  // c.json alone: making the plan creates nothing
}

TEST_CASE("sweep make_plan: a value or key the config refuses is the config error validate gives", "[sweep]") {
  testing::TempDir dir;
  const auto config = dir.path / "c.json";
  fs::atomic_write(config, R"({"run": {"name": "t"}})");
  sweep::Request r;
  r.config = config.string();
  r.grid = {"train.epochs=2,abc"};
  try {
    sweep::make_plan(r);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), ContainsText("--set train.epochs=abc"));
  }
  r.grid = {"train.nope=1"};
  CHECK_THROWS_AS(sweep::make_plan(r), ConfigError);
  r.grid = {"train.epochs"};
  CHECK_THROWS_AS(sweep::make_plan(r), UsageError);
  r.grid = {};
  r.sets = {"train.epochs=0"};
  CHECK_THROWS_AS(sweep::make_plan(r), ConfigError);
  r.config = (dir.path / "absent.json").string();
  CHECK_THROWS_AS(sweep::make_plan(r), ConfigError);
}
