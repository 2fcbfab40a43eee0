// `dltrain train`: options -> resolved config (defaults < file < --set < flags) -> run_training.
#include <iostream>

#include "commands/commands.hpp"
#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/config/overrides.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/dist/world.hpp"
#include "dltrain/sweep/sweep.hpp"
#include "dltrain/train/checkpoint.hpp"
#include "dltrain/train/loop.hpp"

namespace dltrain::app {
namespace {

struct TrainOptions {
  std::string config;
  std::string resume;
  std::vector<std::string> overrides;
  std::string device;
  int64_t threads = -1;
  std::string data_dir;
  std::string out;
  bool no_progress = false;
  bool json = false;
  double monitor_interval = 0.5;
  int nproc = 0;
  double fail_under = -1.0;
  std::string summary_md;
  std::vector<int64_t> seeds;  // --seeds, or --repeat N: one run per seed (a sweep with an empty grid)
  int64_t repeat = 0;
  std::string command_line;
  std::vector<std::string> argv;
};

// The command line without --nproc N (or --nproc=N): what each worker runs.
std::vector<std::string> worker_argv(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--nproc") {
      ++i;
    } else if (argv[i].rfind("--nproc=", 0) != 0) {
      out.push_back(argv[i]);
    }
  }
  return out;
}

// --resume: the checkpoint's own config, with --set overrides on top (run_training checks them against the resume
// contract and logs what changed).
config::Config resumed_config(const std::filesystem::path& checkpoint, const std::vector<std::string>& overrides) {
  return config::parse_with_overrides(train::read_checkpoint_meta(checkpoint).config, overrides,
                                      checkpoint.string() + " (embedded config)");
}

// --json: the run directory, how the run ended and its result (or error), from its report.json.
void print_run_json(const std::filesystem::path& run_dir) {
  nlohmann::json report;
  try {
    report = nlohmann::json::parse(fs::read_file(run_dir / "report.json"));
  } catch (const std::exception&) {
    report = nlohmann::json::object();
  }
  nlohmann::json out = {{"run_dir", run_dir.string()},
                        {"status", report.value("status", "unknown")},
                        {"result", report.value("result", nlohmann::json())}};
  if (report.contains("error")) out["error"] = report["error"];
  std::cout << out.dump(2) << std::endl;
}

// --seeds / --repeat: the config once per seed, as a sweep without a grid (src/dltrain/sweep/), whose folder is
// <out>/<run.name>-seeds.
int run_seeds(const TrainOptions& o) {
  if (o.config.empty()) {
    throw UsageError("--seeds and --repeat need --config FILE", "to continue a stopped series: dltrain sweep --resume DIR");
  }
  sweep::Request r;
  r.kind = "seeds";
  r.command_line = o.command_line;
  r.config = o.config;
  r.sets = o.overrides;
  r.seeds = o.seeds;
  r.repeat = o.repeat;
  r.threads = o.threads;
  r.out = o.out;
  r.device = o.device;
  r.data_dir = o.data_dir;
  return sweep::conclude(sweep::start(r, !o.no_progress), o.json);
}

int run_train(const TrainOptions& o) {
  if (!o.seeds.empty() || o.repeat > 0) return run_seeds(o);
  if (o.config.empty() && o.resume.empty()) {
    throw UsageError("train needs --config FILE or --resume RUN_DIR", "see dltrain train --help");
  }
  const std::filesystem::path resume = o.resume.empty() ? "" : train::resume_checkpoint_path(o.resume);
  config::Config c = resume.empty() ? config::load(o.config, o.overrides) : resumed_config(resume, o.overrides);
  if (!o.device.empty()) c.train.device = o.device;
  if (o.threads >= 0) c.train.threads = o.threads;
  if (!o.data_dir.empty()) c.data.root = o.data_dir;
  if (!o.out.empty()) c.run.output_dir = o.out;
  const dist::World world = dist::world_from_environment();
  if (o.nproc > 1) {
    if (world.distributed()) {
      throw UsageError("--nproc " + std::to_string(o.nproc) + " inside a launcher's worker (" + world.launcher + ")",
                       "let the launcher start the workers (torchrun --nproc-per-node, srun), or use --nproc alone");
    }
    return dist::launch_local(o.nproc, worker_argv(o.argv), c.train.distributed.timeout);
  }
  if (!world.leader()) log::set_worker_console(format("[rank %d] ", world.rank));
  train::RunOptions options;
  options.world = world;
  options.show_progress = !o.no_progress;
  options.resume_from = resume;
  options.monitor_interval_s = o.monitor_interval;
  options.command_line = o.command_line;
  std::filesystem::path run_dir;
  const bool speaks = world.leader();  // of a data-parallel run's workers, rank 0 alone writes stdout
  options.on_run_dir = [&run_dir, &o, speaks](const std::filesystem::path& dir) {
    run_dir = dir;
    if (!o.json && speaks) std::cout << dir.string() << std::endl;  // for scripts: where this run is
  };
  train::RunResult result;
  try {
    result = train::run_training(c, options);
  } catch (const Error&) {
    if (speaks && !run_dir.empty()) {
      if (o.json) print_run_json(run_dir);
      write_summary(run_dir, o.summary_md);
    }
    throw;
  }
  if (!speaks) return kExitOk;
  if (o.json) print_run_json(run_dir);
  write_summary(run_dir, o.summary_md);
  return fail_under_gate(result.test_accuracy, o.fail_under, "the run's headline test accuracy");
}

}  // namespace

Command register_train(CLI::App& parent, std::string command_line, std::vector<std::string> argv) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* app = parent.add_subcommand("train", "Train a model described by a JSON config");
  CLI::Option* config = app->add_option("-c,--config", o->config, "JSON config file (see configs/)");
  CLI::Option* resume = app->add_option("--resume", o->resume,
                                        "Continue a run exactly where it stopped: its run directory or a checkpoint");
  config->excludes(resume);
  app->add_option("--set", o->overrides, "Override a config value: key.path=value (repeatable)");
  app->add_option("--device", o->device, "auto, cpu, cuda or cuda:N (overrides train.device)");
  app->add_option("--threads", o->threads, "CPU threads; 0 = all available cores (overrides train.threads)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--data-dir", o->data_dir, "Folder holding the dataset's four IDX files (overrides data.root)");
  app->add_option("--out", o->out, "Parent folder of run directories (overrides run.output_dir)");
  app->add_flag("--no-progress", o->no_progress, "No progress bar or periodic step lines");
  app->add_flag("--json", o->json,
                "Print one JSON object on stdout at the end (run_dir, status, result or error) instead of the run "
                "directory's path at the start");
  app->add_option("--nproc", o->nproc,
                  "Data-parallel training: start N worker processes on this machine (c10d, Gloo on the CPU, NCCL on "
                  "GPUs); train.batch_size stays the global batch. Under torchrun or srun, leave it out")
      ->check(CLI::Range(1, 1024));
  app->add_option("--fail-under", o->fail_under,
                  "Exit 11 when the headline test accuracy (a fraction, e.g. 0.99) is below this, after every file "
                  "is written: a CI gate")
      ->check(CLI::Range(0.0, 1.0));
  app->add_option("--summary-md", o->summary_md,
                  "Write a Markdown summary of the run here (it is also appended to $GITHUB_STEP_SUMMARY when set)");
  CLI::Option* monitor = app->add_option("--monitor-interval", o->monitor_interval,
                                         "Seconds between monitor samples (CPU, RSS; GPU through NVML on CUDA) in "
                                         "report.json; 0: off")
                             ->capture_default_str()
                             ->check(CLI::Range(0.0, 3600.0));
  CLI::Option* seeds = app->add_option("--seeds", o->seeds,
                                       "Train once per seed (1,2,3), each run <run.name>-seed<S>, and summarise the "
                                       "headline accuracy (mean, std, min, max) in <out>/<run.name>-seeds")
                           ->delimiter(',');
  CLI::Option* repeat = app->add_option("--repeat", o->repeat, "As --seeds, with N seeds: run.seed, run.seed+1, ...")
                            ->check(CLI::Range(1, 10000));
  seeds->excludes(repeat);
  for (CLI::Option* series : {seeds, repeat}) {
    for (const char* other : {"--resume", "--nproc", "--fail-under", "--summary-md"}) series->excludes(other);
    series->excludes(monitor);
  }
  app->footer("A new run directory <out>/<run.name>[-N] receives config.json, metrics.csv, report.json,\n"
              "train.log and checkpoints/last.pt (and best.pt: the model chosen on data.val_split); its path is\n"
              "printed on stdout. steps.csv (a row per log interval), tb/ (TensorBoard events) and report.html\n"
              "(charts, confusion matrix, mistakes, timings) are written as it goes. An existing run directory is\n"
              "never overwritten; --resume continues one in place and may change only train.epochs,\n"
              "early_stopping.patience, log_interval, checkpoint_every, device, threads, cuda_graphs,\n"
              "scheduler.horizon_epochs, distributed.*, run.output_dir and data.root.\n"
              "--nproc N (or torchrun, or srun) trains on N workers; train.batch_size stays the global batch\n"
              "(README: Data-parallel training).\n"
              "--seeds 1,2,3 (or --repeat N) trains once per seed, each run a `dltrain train` of its own, and writes\n"
              "summary.json (its path on stdout) and summary.md in <out>/<run.name>-seeds; exit code: 0 when every\n"
              "run completed, else the first failed run's; a stopped series resumes with `dltrain sweep --resume DIR`\n"
              "(README: Seeds and sweeps).");
  o->command_line = std::move(command_line);
  o->argv = std::move(argv);
  return {app, [o] { return run_train(*o); }};
}

}  // namespace dltrain::app
