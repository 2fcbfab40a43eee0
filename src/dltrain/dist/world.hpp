// Who this process is in a data-parallel run, read from the launcher's environment, and the local launcher of
// `dltrain train --nproc N`.
//   torchrun (env:// rendezvous): RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT;
//   Slurm (srun):                 SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID (SLURM_NTASKS_PER_NODE) with
//                                 MASTER_ADDR and MASTER_PORT set by the batch script;
//   dltrain --nproc N:            the torchrun variables, on loopback, plus DLTRAIN_LAUNCHER=nproc.
// No variable at all is a single-process run.
#pragma once

#include <string>
#include <vector>

namespace dltrain::dist {

struct World {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  int local_size = 1;
  std::string master_addr;
  int master_port = 0;
  std::string launcher;  // "torchrun", "slurm", "dltrain --nproc", or "" for a single process
  // torchrun's agent hosts the store at MASTER_ADDR:MASTER_PORT itself (TORCHELASTIC_USE_AGENT_STORE=True): every
  // worker, rank 0 included, is then a client, under the prefix /worker/attempt_<TORCHELASTIC_RESTART_COUNT>.
  bool agent_store = false;
  int restart_count = 0;

  bool distributed() const { return size > 1; }
  bool leader() const { return rank == 0; }
  std::string rendezvous() const { return master_addr + ":" + std::to_string(master_port); }
};

// Reads the environment. Some variables without the others, or values out of range, throw DeviceError (exit 6)
// naming what is missing, with a hint.
World world_from_environment();

// This machine's host name (report.json, the workers' table).
std::string host_name();

// A TCP port that nothing listens on now, on loopback (the kernel's choice; free until someone binds it).
int free_loopback_port();

// `dltrain train --nproc N ARGS`: starts N copies of this program with ARGS (without --nproc) as ranks 0..N-1 on
// loopback with a free port, forwards SIGINT/SIGTERM/SIGHUP to them, and returns the workers' exit code: rank 0's
// when it failed, else the first failing rank's, else 0. When a worker dies, the others get
// `timeout_s` + 30 s to notice before they are terminated, so that nothing keeps running.
int launch_local(int nproc, const std::vector<std::string>& args, double timeout_s);

}  // namespace dltrain::dist
