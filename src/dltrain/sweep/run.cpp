// Running a sweep (sweep.hpp): each run a child process `dltrain train ... --no-progress --json`, J at a time; the
// sweep's SIGINT/SIGTERM/SIGHUP passed on to them; each run's state recorded in sweep.json as it changes.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <thread>

#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/core/log.hpp"
#include "dltrain/device/device.hpp"
#include "dltrain/sweep/sweep.hpp"

namespace dltrain::sweep {
namespace {

std::atomic<int> g_last_signal{0};  // the last SIGINT/SIGTERM/SIGHUP the sweep received, to pass on
std::atomic<int> g_signal_count{0};

void count_signal(int sig) {
  g_last_signal = sig;
  g_signal_count.fetch_add(1);
}

// While it lives, SIGINT, SIGTERM and SIGHUP are counted instead of ending the sweep; the old handlers come back after.
class SignalCounter {
 public:
  SignalCounter() {
    g_signal_count = 0;
    struct sigaction action {};
    action.sa_handler = count_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &action, &previous_[i]);
  }
  ~SignalCounter() {
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &previous_[i], nullptr);
  }
  SignalCounter(const SignalCounter&) = delete;
  SignalCounter& operator=(const SignalCounter&) = delete;

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> previous_{};
};

// The child's stdin, stdout and stderr, opened by the sweep (close-on-exec), so that a failure is an error here.
class ChildFiles {
 public:
  ChildFiles(const std::filesystem::path& out, const std::filesystem::path& log)
      : fds_{open_file("/dev/null", O_RDONLY), open_file(out, O_WRONLY | O_CREAT | O_TRUNC),
             open_file(log, O_WRONLY | O_CREAT | O_APPEND)} {}
  ~ChildFiles() {
    for (const int fd : fds_) ::close(fd);
  }
  ChildFiles(const ChildFiles&) = delete;
  ChildFiles& operator=(const ChildFiles&) = delete;
  // In the child: they become its descriptors 0, 1 and 2.
  bool install() const { return ::dup2(fds_[0], 0) >= 0 && ::dup2(fds_[1], 1) >= 0 && ::dup2(fds_[2], 2) >= 0; }

 private:
  static int open_file(const std::filesystem::path& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw IoError(path.string() + ": " + std::strerror(errno), "check the sweep folder's permissions and free space");
    }
    return fd;
  }
  std::array<int, 3> fds_;
};

// Starts this binary with `args` (args[0] is its name), stdin from /dev/null, stdout into `out`, stderr appended to
// `log`. The child has a process group of its own, so that a terminal's Ctrl-C reaches the sweep alone, which passes
// it on once (a second one would make the run quit without saving), and gets SIGTERM (it saves and stops) when the
// sweep dies.
pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& out, const std::filesystem::path& log) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const ChildFiles files(out, log);
  static const char kExecFailed[] = "sweep: cannot start the run: exec /proc/self/exe failed\n";
  const pid_t sweep_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {  // the child: only async-signal-safe calls until exec
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() == sweep_pid && files.install()) ::execv("/proc/self/exe", argv.data());
    (void)!::write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
    ::_exit(kExitIo);
  }
  if (pid < 0) throw IoError(std::string("sweep: cannot start a run: fork: ") + std::strerror(errno));
  return pid;
}

// The exit code a wait status stands for, as a shell reports it (128 + the signal that killed it).
int exit_code_from(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// `name`, or `name-2`, `name-3`...: the folder `dltrain train` will create in `parent` (fs::create_run_dir's rule).
std::string free_name(const std::filesystem::path& parent, const std::string& name) {
  if (!std::filesystem::exists(parent / name)) return name;
  for (int k = 2;; ++k) {
    const std::string candidate = name + "-" + std::to_string(k);
    if (!std::filesystem::exists(parent / candidate)) return candidate;
  }
}

// A run directory its run left without a byte written (stopped after creating it, before its signal handlers were
// up) is removed, so that the fresh start takes its name again. Anything with content stays.
void remove_if_empty(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_directory() && (!entry.is_regular_file() || entry.file_size() > 0)) return;
  }
  if (!ec) std::filesystem::remove_all(dir, ec);
}

bool has_checkpoint(const Plan& plan, const Run& run) {
  return !run.run_dir.empty() && std::filesystem::exists(plan.dir / run.run_dir / "checkpoints" / "last.pt");
}

// Whether the run's report.json says it ended well (a sweep killed before it recorded that still knows).
bool report_says_done(const Plan& plan, const Run& run) {
  if (run.run_dir.empty()) return false;
  try {
    const std::string status =
        nlohmann::json::parse(fs::read_file(plan.dir / run.run_dir / "report.json")).value("status", std::string());
    return status == "completed" || status == "early_stopped";
  } catch (const std::exception&) {
    return false;
  }
}

std::filesystem::path log_path(const Plan& plan, const Run& run) { return plan.dir / "logs" / (run.name + ".log"); }
std::filesystem::path out_path(const Plan& plan, const Run& run) { return plan.dir / "logs" / (run.name + ".json"); }

// The child's command line: a fresh run with every override, or `train --resume` of its run directory.
std::vector<std::string> child_args(const Plan& plan, const Run& run, bool resume) {
  std::vector<std::string> args = {"dltrain", "train"};
  if (resume) {
    args.insert(args.end(), {"--resume", (plan.dir / run.run_dir).string()});
  } else {
    args.insert(args.end(), {"--config", plan.config_path.string(), "--out", (plan.dir / "runs").string()});
    for (const std::string& o : run_overrides(plan, run)) args.insert(args.end(), {"--set", o});
  }
  args.insert(args.end(), {"--no-progress", "--json"});
  const int64_t threads = plan.threads >= 0 ? plan.threads
                          : plan.jobs > 1   ? std::max(1, device::available_cores() / plan.jobs)
                                            : -1;
  if (threads >= 0) args.insert(args.end(), {"--threads", std::to_string(threads)});
  if (!plan.device.empty()) args.insert(args.end(), {"--device", plan.device});
  if (!plan.data_dir.empty()) args.insert(args.end(), {"--data-dir", plan.data_dir});
  return args;
}

// The child's last word on why it failed: its --json error, else the last "error:" line it wrote to its log since
// `log_offset`.
std::string failure_text(const std::filesystem::path& out, const std::filesystem::path& log, std::streamoff log_offset) {
  try {
    const nlohmann::json j = nlohmann::json::parse(fs::read_file(out));
    if (j.contains("error")) return j["error"].value("message", j["error"].dump());
  } catch (const std::exception&) {
    // no JSON: the run failed before it had a run directory, or was killed
  }
  std::ifstream in(log);
  in.seekg(log_offset);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.rfind("error: ", 0) == 0) last = line.substr(7);
  }
  return last;
}

struct Child {
  size_t run = 0;
  pid_t pid = 0;
  std::streamoff log_offset = 0;  // where this process's part of the run's log starts
};

// Runs what the plan has not completed, `plan.jobs` at a time, recording each run's state in sweep.json.
class Executor {
 public:
  Executor(Plan& plan, bool progress) : plan_(plan), progress_(progress) {}

  // Returns true when a signal stopped the sweep.
  bool run() {
    SignalCounter signals;
    for (size_t i = 0; i < plan_.runs.size(); ++i) {
      Run& run = plan_.runs[i];
      if (run.status != "completed" && report_says_done(plan_, run)) run.status = "completed";
      if (run.status != "completed") queue_.push_back(i);
    }
    save();
    while (true) {
      forward_signals();
      reap();
      const bool stopping = g_signal_count.load() > 0;
      while (!stopping && !queue_.empty() && children_.size() < static_cast<size_t>(std::max(1, plan_.jobs))) {
        start(queue_.front());
        queue_.pop_front();
      }
      if (children_.empty() && (stopping || queue_.empty())) return stopping;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

 private:
  std::string tag(const Run& run) const {
    return format("[%lld/%zu] %s", static_cast<long long>(run.id), plan_.runs.size(), run.name.c_str());
  }

  void save() { fs::atomic_write(plan_.dir / "sweep.json", plan_json(plan_).dump(2) + "\n"); }

  void start(size_t index) {
    Run& run = plan_.runs[index];
    const bool resume = has_checkpoint(plan_, run);
    if (!resume) {
      if (!run.run_dir.empty()) remove_if_empty(plan_.dir / run.run_dir);
      run.run_dir = "runs/" + free_name(plan_.dir / "runs", run.name);
    }
    std::filesystem::create_directories(plan_.dir / "logs");
    const std::filesystem::path log = log_path(plan_, run);
    const std::streamoff offset =
        std::filesystem::exists(log) ? static_cast<std::streamoff>(std::filesystem::file_size(log)) : 0;
    children_.push_back({index, spawn(child_args(plan_, run, resume), out_path(plan_, run), log), offset});
    run.status = "running";
    run.exit_code.reset();
    save();
    if (progress_) log::info(tag(run) + (resume ? ": resuming " + (plan_.dir / run.run_dir).string() : ": started"));
  }

  void forward_signals() {
    for (; forwarded_ < g_signal_count.load(); ++forwarded_) {
      if (forwarded_ == 0) {
        log::warn(format("sweep: %s: passing it to %zu running run(s); they save and stop (a second one stops them "
                         "at once)", strsignal(g_last_signal.load()), children_.size()));
      }
      for (const Child& child : children_) ::kill(child.pid, g_last_signal.load());
    }
  }

  void reap() {
    for (auto it = children_.begin(); it != children_.end();) {
      int status = 0;
      if (::waitpid(it->pid, &status, WNOHANG) != it->pid) {
        ++it;
        continue;
      }
      finish(*it, exit_code_from(status));
      it = children_.erase(it);
    }
  }

  void finish(const Child& child, int code) {
    Run& run = plan_.runs[child.run];
    try {
      const nlohmann::json out = nlohmann::json::parse(fs::read_file(out_path(plan_, run)));
      run.run_dir = "runs/" + std::filesystem::path(out.at("run_dir").get<std::string>()).filename().string();
    } catch (const std::exception&) {
      // no --json output (killed, or failed before its run directory): keep the expected one if it exists
    }
    if (!run.run_dir.empty() && !std::filesystem::exists(plan_.dir / run.run_dir)) run.run_dir.clear();
    run.exit_code = code;
    const bool stopped = code == kExitInterrupted || (g_signal_count.load() > 0 && code > 128);
    run.status = code == 0 ? "completed" : stopped ? "interrupted" : "failed";
    save();
    if (code == 0) {
      const Outcome o = read_outcome(plan_, run);
      log::info(format("%s: completed, test accuracy %.2f%%, %.2f s training", tag(run).c_str(), 100.0 * o.accuracy,
                       o.train_s));
    } else if (run.status == "interrupted") {
      log::info(format("%s: interrupted (exit %d)", tag(run).c_str(), code));
    } else {
      const std::string why = failure_text(out_path(plan_, run), log_path(plan_, run), child.log_offset);
      log::error(format("%s: failed (exit %d)%s%s; log: %s", tag(run).c_str(), code, why.empty() ? "" : ": ",
                        why.c_str(), log_path(plan_, run).c_str()));
    }
  }

  Plan& plan_;
  bool progress_;
  std::vector<Child> children_;
  std::deque<size_t> queue_;
  int forwarded_ = 0;
};

// An exclusive lock on the sweep directory for this process's lifetime (closed on exec: the runs do not hold it).
class DirLock {
 public:
  explicit DirLock(const std::filesystem::path& dir) {
    const std::string path = (dir / ".lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError(path + ": " + std::strerror(errno), "check the folder's permissions");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw UsageError(dir.string() + ": another dltrain sweep is running in this folder",
                       "wait for it to end, or stop it (Ctrl-C) and resume with `dltrain sweep --resume " + dir.string() + "`");
    }
  }
  ~DirLock() { ::close(fd_); }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

// Runs the plan, then writes summary.json and summary.md.
Result execute(Plan plan, bool progress) {
  DirLock lock(plan.dir);
  const size_t done = static_cast<size_t>(
      std::count_if(plan.runs.begin(), plan.runs.end(), [](const Run& r) { return r.status == "completed"; }));
  log::info(format("%s: %zu run(s) (%zu combination(s) x %zu seed(s)), %zu already completed, %d at a time; in %s",
                   plan.kind.c_str(), plan.runs.size(), plan.combinations.size(), plan.seeds.size(), done,
                   std::max(1, plan.jobs),
                   plan.dir.c_str()));
  const bool stopped = Executor(plan, progress).run();
  std::vector<Outcome> outcomes;
  for (const Run& run : plan.runs) outcomes.push_back(read_outcome(plan, run));
  const std::vector<Row> rows = summarize(plan, outcomes);
  Result result;
  result.summary = summary_json(plan, rows, outcomes);
  result.table = table_text(plan, rows);
  result.exit_code = stopped ? kExitInterrupted : kExitOk;
  for (const Run& run : plan.runs) {
    if (result.exit_code == kExitOk && run.status != "completed") result.exit_code = run.exit_code.value_or(kExitInternal);
  }
  result.summary["exit_code"] = result.exit_code;
  fs::atomic_write(plan.dir / "summary.json", result.summary.dump(2) + "\n");
  fs::atomic_write(plan.dir / "summary.md",
                   format("## dltrain %s `%s`\n\nConfig `%s`, seeds %s; the headline: each run's test accuracy "
                          "(report.json `result`), sample std over seeds.\n\n",
                          plan.kind.c_str(), plan.dir.filename().c_str(), plan.config_path.c_str(),
                          nlohmann::json(plan.seeds).dump().c_str()) +
                       table_markdown(plan, rows));
  result.plan = std::move(plan);
  return result;
}

}  // namespace

Result start(const Request& request, bool progress) {
  Plan plan = make_plan(request);
  const std::string out = !request.out.empty() ? request.out : plan.config.at("run").at("output_dir").get<std::string>();
  plan.dir = fs::create_run_dir(out, plan.config.at("run").at("name").get<std::string>() + "-" + plan.kind);
  std::filesystem::remove(plan.dir / "checkpoints");  // create_run_dir makes a run's (empty) one; a sweep has none
  std::filesystem::create_directories(plan.dir / "runs");
  return execute(std::move(plan), progress);
}

Result resume(const std::filesystem::path& dir, std::optional<int> jobs, std::optional<int64_t> threads, bool progress) {
  if (!std::filesystem::exists(dir / "sweep.json")) {
    throw UsageError(dir.string() + ": not a sweep directory (no sweep.json)",
                     "pass the folder that `dltrain sweep` or `dltrain train --seeds` printed");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(fs::read_file(dir / "sweep.json"));
  } catch (const nlohmann::json::exception& e) {
    throw DataError((dir / "sweep.json").string() + ": not valid JSON (" + e.what() + ")", "the file was changed by hand");
  }
  Plan plan = plan_from_json(j, dir);
  if (jobs) plan.jobs = *jobs;
  if (threads) plan.threads = *threads;
  const bool unstarted = std::any_of(plan.runs.begin(), plan.runs.end(), [&plan](const Run& r) {
    return r.status != "completed" && !has_checkpoint(plan, r) && !report_says_done(plan, r);
  });
  if (unstarted && config::to_json(config::load(plan.config_path, plan.sets)) != plan.config) {
    throw ConfigError(plan.config_path.string() + ": the config changed since the sweep started, and runs are left to start",
                      "restore the file (sweep.json holds the config the sweep started with), or start a new sweep");
  }
  return execute(std::move(plan), progress);
}

int conclude(const Result& result, bool json) {
  std::cerr << "\n" << result.table;
  const std::filesystem::path summary = result.plan.dir / "summary.json";
  if (json) {
    nlohmann::json out = result.summary;
    out["summary"] = summary.string();
    std::cout << out.dump(2) << std::endl;
  } else {
    std::cout << summary.string() << std::endl;
  }
  const std::string resume_hint = "resume it: dltrain sweep --resume " + result.plan.dir.string();
  if (result.exit_code == kExitInterrupted) throw Interrupted("the sweep was stopped; completed runs are kept", resume_hint);
  for (const Run& run : result.plan.runs) {
    if (run.status == "completed") continue;
    log::flush();
    std::cerr << format("error: sweep: run %lld (%s) ended with exit %d; its log: %s\n", static_cast<long long>(run.id),
                        run.name.c_str(), run.exit_code.value_or(kExitInternal), log_path(result.plan, run).c_str())
              << "hint: the other runs are in the table; `dltrain sweep --resume " << result.plan.dir.string()
              << "` retries what did not complete\n";
    break;
  }
  return result.exit_code;
}

}  // namespace dltrain::sweep
