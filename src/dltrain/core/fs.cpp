// Atomic writes and run directories: a file is replaced only by a complete, synced copy (docs/ARCHITECTURE.md).
#include "dltrain/core/fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dltrain/core/error.hpp"

namespace dltrain::fs {
namespace {

// Flushes a written file to the disk. Throws IoError when open, fsync or close fails: a file the disk did not
// take must not replace the previous one.
void fsync_file(const stdfs::path& path, const stdfs::path& target) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const int sync_errno = errno;
  const bool closed = fd >= 0 && ::close(fd) == 0;
  if (!synced || !closed) {
    throw IoError(target.string() + ": cannot write: " + std::strerror(synced ? errno : sync_errno) + " (fsync)",
                  "check free disk space and the file system; the previous " + target.filename().string() +
                      ", if any, is intact");
  }
}

// Makes a rename durable. Best effort: some file systems refuse fsync on a folder, and the file is in place.
void fsync_folder(const stdfs::path& folder) {
  const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  (void)::close(fd);
}

stdfs::path temp_name(const stdfs::path& path) {
  return path.parent_path() / ("." + path.filename().string() + ".tmp" + std::to_string(::getpid()));
}

}  // namespace

void atomic_write_with(const stdfs::path& path, const std::function<void(const stdfs::path&)>& write) {
  const stdfs::path tmp = temp_name(path);
  try {
    write(tmp);
    fsync_file(tmp, path);
    stdfs::rename(tmp, path);
    fsync_folder(path.parent_path());
  } catch (const stdfs::filesystem_error& e) {
    std::error_code ignored;
    stdfs::remove(tmp, ignored);
    throw IoError(path.string() + ": cannot write: " + e.code().message(),
                  "check free disk space and permissions; the previous " + path.filename().string() + " is intact");
  } catch (...) {
    std::error_code ignored;
    stdfs::remove(tmp, ignored);
    throw;
  }
}

void atomic_write(const stdfs::path& path, const std::string& content) {
  atomic_write_with(path, [&](const stdfs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (out.fail()) {
      throw IoError(path.string() + ": write failed: " + std::strerror(errno),
                    "check free disk space and permissions of " + path.parent_path().string() + "; the previous " +
                        path.filename().string() + ", if any, is intact");
    }
  });
}

stdfs::path create_run_dir(const stdfs::path& base, const std::string& name) {
  std::error_code ec;
  stdfs::create_directories(base, ec);
  if (ec) {
    throw IoError(base.string() + ": cannot create output directory: " + ec.message(),
                      "choose a writable place with --out DIR or run.output_dir");
  }
  for (int n = 1; n < 10000; ++n) {
    const stdfs::path dir = base / (n == 1 ? name : name + "-" + std::to_string(n));
    if (stdfs::create_directory(dir, ec)) {
      stdfs::create_directory(dir / "checkpoints", ec);
      const stdfs::path probe = dir / ".write-test";
      std::ofstream(probe) << "ok";
      if (!stdfs::exists(probe)) {
        throw IoError(dir.string() + ": run directory is not writable",
                          "choose a writable place with --out DIR or run.output_dir");
      }
      stdfs::remove(probe, ec);
      return dir;
    }
    if (ec) {
      throw IoError(dir.string() + ": cannot create run directory: " + ec.message(),
                        "choose a writable place with --out DIR or run.output_dir");
    }
  }
  throw ConfigError(base.string() + ": too many runs named '" + name + "'", "set run.name or clean up old runs");
}

int remove_stale_temp_files(const stdfs::path& dir) {
  int removed = 0;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec); !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".tmp") != std::string::npos && it->is_regular_file(ec)) {
      removed += stdfs::remove(it->path(), ec) ? 1 : 0;
    }
  }
  return removed;
}

std::string read_file(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path.string() + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace dltrain::fs
