// Seeds and sweeps: one config trained once per seed and per combination of a grid of --set values, each run a child
// process (`dltrain train`), J at a time; then the runs' headline test accuracies summarised per combination.
// `dltrain train --seeds/--repeat` is a sweep with an empty grid. README: "Seeds and sweeps".
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dltrain::sweep {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- the plan ----

// One --grid: a config key and the values it takes, each a --set value ("0.01", "[32,64]").
struct Axis {
  std::string key;
  std::vector<std::string> values;
};

// "train.optimizer.lr=0.01,0.003". Values are split at commas outside brackets, braces and JSON strings, so that
// "model.hidden=[32],[64,64]" has two. UsageError when there is no '=', the key or a value is empty, a value is given
// twice, or the key is one the sweep sets itself (run.seed, run.name, run.output_dir).
Axis parse_axis(const std::string& text);
// Every combination of the axes' values as --set overrides ("key=value"), the last axis varying fastest; one empty
// combination for no axes. UsageError when a key has two --grid.
std::vector<std::vector<std::string>> combinations(const std::vector<Axis>& grid);
// The seeds to run: --seeds as given (UsageError on a repeated one), or --repeat N: base, base+1, ..., or {base}.
std::vector<int64_t> seed_list(const std::vector<int64_t>& seeds, int64_t repeat, int64_t base);
// A run's run.name: "<base>-<label>-seed<S>", the label naming the combination's values ("lr0.01-batch_size64").
std::string run_name(const std::string& base, const std::string& label, int64_t seed);
// Per combination, a label made of each override's last key part and its value, safe in a folder name; prefixed by
// "c<k>-" (k from 1) for every combination when two would otherwise be the same.
std::vector<std::string> combination_labels(const std::vector<std::vector<std::string>>& combinations);

// One run of the plan and where it stands.
struct Run {
  int64_t id = 0;          // 1-based, in plan order: combination by combination, seed by seed
  size_t combination = 0;  // index into Plan::combinations
  int64_t seed = 0;
  std::string name;                  // its run.name
  std::string run_dir;               // relative to the sweep directory ("runs/NAME"); empty while it has none
  std::string status = "pending";    // pending, running, completed, failed, interrupted
  std::optional<int> exit_code;      // of its last process
};

struct Plan {
  std::filesystem::path dir;            // the sweep directory
  std::string kind = "sweep";           // "sweep", or "seeds" for `train --seeds/--repeat`
  std::string command_line;
  std::filesystem::path config_path;    // absolute
  nlohmann::json config;                // resolved, with `sets` applied: what a resume checks the file against
  std::vector<std::string> sets;        // the user's --set, before the grid's
  std::vector<Axis> grid;
  std::vector<std::vector<std::string>> combinations;
  std::vector<int64_t> seeds;
  int jobs = 1;
  int64_t threads = -1;  // per run; -1: max(1, cores / jobs) with more than one job, else the config's
  std::string device;    // --device for every run ("": the config's)
  std::string data_dir;  // --data-dir for every run, absolute ("": the data lookup)
  std::vector<Run> runs;
};

// A new sweep, from the command line.
struct Request {
  std::string kind = "sweep";
  std::string command_line;
  std::string config;
  std::vector<std::string> sets;
  std::vector<std::string> grid;  // --grid texts
  std::vector<int64_t> seeds;
  int64_t repeat = 0;
  int jobs = 1;
  int64_t threads = -1;
  std::string out;  // parent of the sweep directory ("": run.output_dir)
  std::string device;
  std::string data_dir;
};

// The plan of `request`, every run's config loaded and checked (config::load with its overrides, the errors of
// `dltrain config validate`); creates nothing.
Plan make_plan(const Request& request);
// Every --set a fresh run gets: the user's, the combination's, then run.seed and run.name.
std::vector<std::string> run_overrides(const Plan& plan, const Run& run);

// sweep.json: the plan and each run's state; and back (DataError naming the file when it is not one).
nlohmann::json plan_json(const Plan& plan);
Plan plan_from_json(const nlohmann::json& j, const std::filesystem::path& dir);

// ---- the summary ----

// Mean, sample standard deviation (n - 1), min and max of the finite values. With fewer than two values the
// standard deviation is NaN (null in JSON, "-" in tables): one seed says nothing about the spread.
struct Stats {
  size_t n = 0;
  double mean = kNaN, std = kNaN, min = kNaN, max = kNaN;
};
Stats statistics(const std::vector<double>& values);

// What a run's report.json says (NaN and 0 when it has none).
struct Outcome {
  double accuracy = kNaN;  // the headline test accuracy (report.json `result`)
  double train_s = kNaN;   // timings.train_s
  int64_t epochs = 0;
};
// The run directory's report.json, read back (a default Outcome when there is none).
Outcome read_outcome(const Plan& plan, const Run& run);

// One combination: its completed runs' statistics.
struct Row {
  size_t combination = 0;
  std::vector<int64_t> seeds;  // of its completed runs
  size_t runs = 0;             // planned
  Stats stats;
  int64_t epochs_min = 0, epochs_max = 0;
  double mean_train_s = kNaN;
  std::vector<std::string> run_dirs;  // every run that has one, as paths from the current folder
};
// One row per combination (`outcomes` in plan order, one per run; only completed runs count), sorted by the mean
// headline accuracy, best first; combinations without a result last; ties in plan order.
std::vector<Row> summarize(const Plan& plan, const std::vector<Outcome>& outcomes);

// The comparison table: aligned text for the terminal, and Markdown.
std::string table_text(const Plan& plan, const std::vector<Row>& rows);
std::string table_markdown(const Plan& plan, const std::vector<Row>& rows);
// summary.json: the rows, and each run with its state and headline.
nlohmann::json summary_json(const Plan& plan, const std::vector<Row>& rows, const std::vector<Outcome>& outcomes);

// ---- running it ----

struct Result {
  Plan plan;
  nlohmann::json summary;  // summary.json
  std::string table;       // table_text
  int exit_code = 0;       // 0; else kExitInterrupted when stopped by a signal; else the first failed run's code
};

// Runs a new sweep: makes the plan, creates its directory, runs every run, writes the summary.
Result start(const Request& request, bool progress);
// Continues the sweep in `dir`: completed runs are kept, runs with a checkpoint continue (`train --resume`), the
// others start. `jobs` / `threads` (when set) replace the plan's.
Result resume(const std::filesystem::path& dir, std::optional<int> jobs, std::optional<int64_t> threads, bool progress);
// Prints the table on stderr and the summary's path (or with `json`, summary.json) on stdout; returns the exit code,
// or throws Interrupted, whose hint names the resume command, when the sweep was stopped.
int conclude(const Result& result, bool json);

}  // namespace dltrain::sweep
