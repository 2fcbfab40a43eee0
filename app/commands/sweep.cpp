// `dltrain sweep`: a grid of --set values times seeds, each run a `dltrain train` child (src/dltrain/sweep/).
#include "commands/commands.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/sweep/sweep.hpp"

namespace dltrain::app {
namespace {

struct SweepOptions {
  sweep::Request request;
  std::string resume;
  bool no_progress = false;
  bool json = false;
};

int run_sweep(const SweepOptions& o, const CLI::App& app) {
  if (!o.resume.empty()) {
    const std::optional<int> jobs = app.count("--jobs") > 0 ? std::optional<int>(o.request.jobs) : std::nullopt;
    const std::optional<int64_t> threads = o.request.threads >= 0 ? std::optional<int64_t>(o.request.threads) : std::nullopt;
    return sweep::conclude(sweep::resume(o.resume, jobs, threads, !o.no_progress), o.json);
  }
  if (o.request.config.empty()) {
    throw UsageError("sweep needs --config FILE or --resume SWEEP_DIR", "see dltrain sweep --help");
  }
  return sweep::conclude(sweep::start(o.request, !o.no_progress), o.json);
}

}  // namespace

Command register_sweep(CLI::App& parent, std::string command_line) {
  auto o = std::make_shared<SweepOptions>();
  o->request.command_line = std::move(command_line);
  sweep::Request& r = o->request;
  CLI::App* app = parent.add_subcommand("sweep", "Train a config over a grid of values and seeds, and compare the runs");
  CLI::Option* config = app->add_option("-c,--config", r.config, "JSON config file (see configs/)");
  CLI::Option* resume = app->add_option("--resume", o->resume,
                                        "Continue a stopped sweep: its folder (completed runs are kept)");
  CLI::Option* grid = app->add_option("--grid", r.grid,
                                      "key.path=value1,value2: the values one config key takes (repeatable; every "
                                      "combination runs; commas inside [] or {} stay in a value)");
  CLI::Option* seeds = app->add_option("--seeds", r.seeds, "Run every combination with each of these seeds: 1,2,3")
                           ->delimiter(',');
  CLI::Option* repeat = app->add_option("--repeat", r.repeat, "Run every combination with N seeds: run.seed, run.seed+1, ...")
                            ->check(CLI::Range(1, 10000));
  seeds->excludes(repeat);
  CLI::Option* sets = app->add_option("--set", r.sets, "Override a config value for every run: key.path=value (repeatable)");
  CLI::Option* out = app->add_option("--out", r.out, "Parent folder of the sweep's folder (default: run.output_dir)");
  CLI::Option* device = app->add_option("--device", r.device, "auto, cpu, cuda or cuda:N for every run");
  CLI::Option* data_dir = app->add_option("--data-dir", r.data_dir, "Folder holding the dataset's IDX files, for every run");
  for (CLI::Option* option : {config, grid, seeds, repeat, sets, out, device, data_dir}) resume->excludes(option);
  app->add_option("--jobs", r.jobs, "Runs at a time (default 1)")->check(CLI::Range(1, 1024));
  app->add_option("--threads", r.threads, "CPU threads per run (default with --jobs J > 1: available cores / J, at least 1; with one job: "
                  "the config's train.threads)")
      ->check(CLI::NonNegativeNumber);
  app->add_flag("--no-progress", o->no_progress, "No line when a run starts (a line when each ends stays)");
  app->add_flag("--json", o->json, "Print summary.json on stdout instead of its path");
  app->footer("A new folder <out>/<run.name>-sweep (or -2, -3...) receives sweep.json (the plan and each run's state),\n"
              "runs/ (one run directory per combination and seed, named <run.name>-<values>-seed<S>), logs/ (each\n"
              "run's stderr), and at the end summary.json and summary.md: one row per combination, sorted by the mean\n"
              "headline test accuracy over its seeds. The table goes to stderr, summary.json's path to stdout.\n"
              "Ctrl-C (SIGINT/SIGTERM/SIGHUP) is passed to the runs, which save last.pt; the sweep exits 130 and\n"
              "`dltrain sweep --resume DIR` finishes it. Exit code: 0 when every run completed, else the first\n"
              "failed run's (in plan order). README: Seeds and sweeps.");
  return {app, [o, app] { return run_sweep(*o, *app); }};
}

}  // namespace dltrain::app
