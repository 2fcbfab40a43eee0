// The exit-code table, kept next to the codes so help text and code cannot drift apart.
#include "dltrain/core/error.hpp"

namespace dltrain {

std::string exit_code_help() {
  return "Exit codes:\n"
         "  0    success\n"
         "  1    internal error (a bug: please report it)\n"
         "  2    usage error (bad command line, invalid --set)\n"
         "  3    config error (invalid JSON config)\n"
         "  4    data error (missing, corrupt or invalid dataset files)\n"
         "  5    checkpoint error (missing, corrupt or incompatible checkpoint)\n"
         "  6    device error (requested device not available)\n"
         "  7    training diverged (loss became NaN or Inf; the last good checkpoint stays)\n"
         "  8    output error (run directory not writable, disk full; nothing half-written is left)\n"
         "  9    doctor: a check failed (see its FAIL lines)\n"
         "  10   distributed training: a worker was lost or stopped answering (last.pt stays as it was)\n"
         "  11   --fail-under: the headline test accuracy is below the bound (every file was written)\n"
         "  130  interrupted (a checkpoint was saved)\n";
}

}  // namespace dltrain
