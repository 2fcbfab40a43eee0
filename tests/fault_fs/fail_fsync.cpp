// A disk that does not take a write, for the CLI tests: preloaded (LD_PRELOAD), fsync() fails with EIO for every
// file whose path contains the text in $DLTRAIN_FAIL_FSYNC (e.g. "last.pt"), and works as usual for the others.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" int fsync(int fd) {
  using Fsync = int (*)(int);
  static const auto real = reinterpret_cast<Fsync>(dlsym(RTLD_NEXT, "fsync"));
  const char* match = std::getenv("DLTRAIN_FAIL_FSYNC");
  if (match != nullptr && *match != '\0') {
    char path[PATH_MAX];
    const ssize_t n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), path, sizeof(path) - 1);
    if (n > 0 && std::strstr(std::string(path, static_cast<size_t>(n)).c_str(), match) != nullptr) {
      errno = EIO;
      return -1;
    }
  }
  return real(fd);
}
