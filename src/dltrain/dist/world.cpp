// The launcher's environment, and `--nproc`: fork/exec of this program, one child per rank.
#include "dltrain/dist/world.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/log.hpp"

namespace dltrain::dist {
namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

const char* const kLaunchHint =
    "start the workers with torchrun (it sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and "
    "MASTER_PORT), with srun and MASTER_ADDR/MASTER_PORT exported, or on one machine with dltrain train --nproc N";

int env_int(const char* name, int lo, int hi) {
  const std::optional<std::string> value = env(name);
  if (!value) throw DeviceError(format("distributed launch: %s is not set", name), kLaunchHint);
  char* end = nullptr;
  const long parsed = std::strtol(value->c_str(), &end, 10);
  if (end == value->c_str() || *end != '\0' || parsed < lo || parsed > hi) {
    throw DeviceError(
        format("distributed launch: %s=%s is not a whole number in [%d, %d]", name, value->c_str(), lo, hi),
        kLaunchHint);
  }
  return static_cast<int>(parsed);
}

void read_master(World& w) {
  if (!w.distributed()) return;
  const std::optional<std::string> addr = env("MASTER_ADDR");
  if (!addr) throw DeviceError("distributed launch: MASTER_ADDR is not set", kLaunchHint);
  w.master_addr = *addr;
  w.master_port = env_int("MASTER_PORT", 1, 65535);
}

}  // namespace

World world_from_environment() {
  World w;
  if (env("WORLD_SIZE") || env("RANK")) {
    w.size = env_int("WORLD_SIZE", 1, 1 << 20);
    w.rank = env_int("RANK", 0, w.size - 1);
    w.local_size = env("LOCAL_WORLD_SIZE") ? env_int("LOCAL_WORLD_SIZE", 1, w.size) : w.size;
    w.local_rank = env("LOCAL_RANK") ? env_int("LOCAL_RANK", 0, w.local_size - 1) : w.rank % w.local_size;
    w.launcher = env("DLTRAIN_LAUNCHER").value_or("") == "nproc" ? "dltrain --nproc" : "torchrun";
    w.agent_store = env("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
    if (w.agent_store && env("TORCHELASTIC_RESTART_COUNT")) {
      w.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", 0, 1 << 20);
    }
  } else if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    w.size = env_int("SLURM_NTASKS", 1, 1 << 20);
    w.rank = env_int("SLURM_PROCID", 0, w.size - 1);
    w.local_rank = env("SLURM_LOCALID") ? env_int("SLURM_LOCALID", 0, w.size - 1) : 0;
    // SLURM_NTASKS_PER_NODE is "2" or "2(x3)"; its leading number is what one machine runs.
    const std::string per_node = env("SLURM_NTASKS_PER_NODE").value_or("");
    w.local_size = per_node.empty() ? 1 : std::max(1, std::atoi(per_node.c_str()));
    w.launcher = "slurm";
  }
  if (!w.distributed()) return World{};
  read_master(w);
  return w;
}

// ---- dltrain train --nproc N ----

namespace {

std::atomic<int> g_forward_signal{0};  // the last signal the launcher received, to pass on
std::atomic<int> g_signals_received{0};

void on_launcher_signal(int sig) {
  g_forward_signal = sig;
  g_signals_received.fetch_add(1);
}

}  // namespace

std::string host_name() {
  char name[256] = {};  // gethostname fills it; HOST_NAME_MAX is 64 on Linux
  return ::gethostname(name, sizeof(name) - 1) == 0 ? name : "";
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw DeviceError(std::string("--nproc: socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw DeviceError(std::string("--nproc: no free port on loopback: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {

pid_t start_worker(int rank, int nproc, int port, const std::vector<std::string>& args) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw DeviceError(std::string("--nproc: fork: ") + std::strerror(errno));
  if (pid > 0) return pid;
  // The child: its own process group (a terminal's Ctrl-C reaches the launcher only, which forwards it once), and
  // SIGTERM when the launcher dies.
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(143);
  const std::string r = std::to_string(rank), n = std::to_string(nproc), p = std::to_string(port);
  ::setenv("RANK", r.c_str(), 1);
  ::setenv("LOCAL_RANK", r.c_str(), 1);
  ::setenv("WORLD_SIZE", n.c_str(), 1);
  ::setenv("LOCAL_WORLD_SIZE", n.c_str(), 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", p.c_str(), 1);
  ::setenv("DLTRAIN_LAUNCHER", "nproc", 1);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv("/proc/self/exe", argv.data());
  const std::string message = std::string("--nproc: cannot start a worker: ") + std::strerror(errno) + "\n";
  (void)!::write(STDERR_FILENO, message.data(), message.size());
  ::_exit(kExitInternal);
}

struct Worker {
  pid_t pid = 0;
  bool running = true;
  int status = 0;
};

// The exit code a worker's wait status stands for, as a shell reports it.
int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// Rank 0's own failure code, else the first rank that failed on its own (it says why), else the first killed one.
int launcher_exit_code(const std::vector<Worker>& workers) {
  for (const Worker& w : workers) {
    if (WIFEXITED(w.status) && WEXITSTATUS(w.status) != 0) return WEXITSTATUS(w.status);
  }
  for (const Worker& w : workers) {
    if (w.status != 0) return exit_code_of(w.status);
  }
  return kExitOk;
}

}  // namespace

int launch_local(int nproc, const std::vector<std::string>& args, double timeout_s) {
  using Clock = std::chrono::steady_clock;
  const int port = free_loopback_port();
  log::info(format("--nproc: starting %d workers, rendezvous on 127.0.0.1:%d", nproc, port));
  struct sigaction action {}, old_int{}, old_term{}, old_hup{};
  action.sa_handler = on_launcher_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  sigaction(SIGHUP, &action, &old_hup);
  std::vector<Worker> workers(static_cast<size_t>(nproc));
  for (int r = 0; r < nproc; ++r) workers[static_cast<size_t>(r)].pid = start_worker(r, nproc, port, args);
  int forwarded = 0, running = nproc;
  std::optional<Clock::time_point> deadline;  // set when a worker fails: the others must be gone by then
  bool terminated = false;
  while (running > 0) {
    for (; forwarded < g_signals_received.load(); ++forwarded) {
      for (const Worker& w : workers) {
        if (w.running) ::kill(w.pid, g_forward_signal.load());
      }
    }
    for (size_t r = 0; r < workers.size(); ++r) {
      Worker& w = workers[r];
      if (!w.running || ::waitpid(w.pid, &w.status, WNOHANG) != w.pid) continue;
      w.running = false;
      --running;
      if (WIFSIGNALED(w.status) && g_signals_received.load() == 0) {
        log::error(format("--nproc: rank %zu (pid %d) was killed by signal %d (%s)", r, static_cast<int>(w.pid),
                          WTERMSIG(w.status), strsignal(WTERMSIG(w.status))));
      }
      if (w.status != 0 && !deadline) {
        deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(1000 * (timeout_s + 30)));
      }
    }
    if (deadline && running > 0 && Clock::now() > *deadline) {
      log::error(format("--nproc: %d worker(s) still running %.0f s after another one failed; %s them", running,
                        timeout_s + 30, terminated ? "killing" : "terminating"));
      for (const Worker& w : workers) {
        if (w.running) ::kill(w.pid, terminated ? SIGKILL : SIGTERM);
      }
      deadline = Clock::now() + std::chrono::seconds(10);
      terminated = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  return launcher_exit_code(workers);
}

}  // namespace dltrain::dist
