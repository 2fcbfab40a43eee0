// File helpers that never leave half-written files: write to a temporary name, fsync, rename.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace dltrain::fs {

namespace stdfs = std::filesystem;

// Writes `content` to `path` atomically (temporary file in the same folder, fsync, rename).
void atomic_write(const stdfs::path& path, const std::string& content);

// Calls `write(tmp)` to produce a temporary file, fsyncs it and renames it to `path`.
// The temporary file is removed if `write` throws.
void atomic_write_with(const stdfs::path& path, const std::function<void(const stdfs::path&)>& write);

// Creates a new, empty run directory `<base>/<name>`, or `<name>-2`, `<name>-3`... if taken.
// Never reuses an existing directory. Throws ConfigError if `base` cannot be created or written.
stdfs::path create_run_dir(const stdfs::path& base, const std::string& name);

// Removes the temporary files an atomic write leaves when its process is killed (kill -9) before the
// rename, in `dir` and its subfolders. Returns how many were removed.
int remove_stale_temp_files(const stdfs::path& dir);

// Reads a whole file; throws DataError naming the file if it cannot be read.
std::string read_file(const stdfs::path& path);

}  // namespace dltrain::fs
