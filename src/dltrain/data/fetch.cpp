// Dataset download (libcurl) and SHA-256 verification (OpenSSL EVP) for `dltrain data fetch|verify`.
// A download goes to a temporary file in the target folder and is renamed only once its checksum matches.
#include "dltrain/data/fetch.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/fs.hpp"
#include "dltrain/core/log.hpp"

namespace dltrain::data {
namespace {

namespace stdfs = std::filesystem;

// One mirror failed for one file; the caller records the reason and tries the next mirror. Errors that
// no other mirror can cure (an unwritable target folder, a full disk) are DataErrors and stop the fetch.
struct MirrorFailure {
  std::string reason;
  bool unreachable = false;  // the host itself failed, not just this file
  std::string detail;        // see MirrorAttempt::detail
};

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string to_hex(const unsigned char* bytes, unsigned int size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(static_cast<size_t>(size) * 2);
  for (unsigned int i = 0; i < size; ++i) {
    hex += kDigits[bytes[i] >> 4];
    hex += kDigits[bytes[i] & 0x0f];
  }
  return hex;
}

std::string mirror_url(const std::string& base, const std::string& file_name) {
  std::string url = base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/" + file_name;
}

std::string human_size(double bytes) {
  if (bytes >= 1024.0 * 1024.0) return format("%.1f MiB", bytes / (1024.0 * 1024.0));
  if (bytes >= 1024.0) return format("%.1f KiB", bytes / 1024.0);
  return format("%.0f bytes", bytes);
}

struct WriteState {
  std::FILE* out = nullptr;
  int write_errno = 0;  // set when fwrite fails: a local problem, not the mirror's
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<WriteState*>(user);
  const size_t written = std::fwrite(data, size, count, state->out);
  if (written != count) state->write_errno = errno != 0 ? errno : EIO;
  return written * size;  // anything short of size*count makes curl stop with CURLE_WRITE_ERROR
}

// The reason a transfer failed, phrased for a person: "HTTP 404", "cannot connect: connection refused".
// `unreachable` is set when the host cannot be reached at all, so that other files skip that mirror.
std::string curl_reason(CURL* curl, CURLcode code, const char* error_buffer, bool& unreachable) {
  long os_errno = 0;
  curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
  std::string os_reason = os_errno != 0 ? std::strerror(static_cast<int>(os_errno)) : "";
  if (!os_reason.empty()) os_reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(os_reason[0])));
  const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  switch (code) {
    case CURLE_HTTP_RETURNED_ERROR: {
      long status = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
      return "HTTP " + std::to_string(status);
    }
    case CURLE_COULDNT_CONNECT:
      unreachable = true;
      return "cannot connect" + (os_reason.empty() ? "" : ": " + os_reason);
    case CURLE_COULDNT_RESOLVE_HOST:
      unreachable = true;
      return "cannot resolve host";  // curl's message only repeats the host name
    case CURLE_COULDNT_RESOLVE_PROXY:
      unreachable = true;
      return "cannot resolve proxy: " + detail;
    case CURLE_FILE_COULDNT_READ_FILE:
      return "no such file or unreadable";
    case CURLE_PARTIAL_FILE:
      return "partial transfer: " + detail;
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connect_us = 0;
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
      unreachable = connect_us == 0;  // never connected: the host is down, not slow
      return "timed out: " + detail;
    }
    default:
      return detail + (os_reason.empty() ? "" : " (" + os_reason + ")");
  }
}

// Downloads `url` into `dest`, returning the bytes received. Throws MirrorFailure for anything the
// mirror or the network did wrong, DataError for local write failures.
double download(const std::string& url, const stdfs::path& dest, long timeout_seconds) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw DataError("cannot initialise libcurl", "this is a bug or an out-of-memory condition");
  // A deleter type, not decltype(&std::fclose): glibc's fclose carries attributes a template argument drops.
  struct CloseFile {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, CloseFile> out(std::fopen(dest.c_str(), "wb"));
  if (!out) {
    throw DataError(dest.string() + ": cannot create file: " + std::strerror(errno),
                    "make " + dest.parent_path().string() + " writable or choose another folder with --root");
  }
  WriteState state{out.get()};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &write_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_seconds > 0 ? timeout_seconds : 0L);
  // A stalled mirror (under 1 KiB/s for 30 s) is abandoned long before the overall timeout.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "dltrain/" DLTRAIN_VERSION);

  const CURLcode code = curl_easy_perform(c);
  if (state.write_errno != 0) {
    throw DataError(dest.string() + ": write failed: " + std::strerror(state.write_errno),
                    "check free disk space and permissions of " + dest.parent_path().string());
  }
  if (code != CURLE_OK) {
    bool unreachable = false;
    std::string reason = curl_reason(c, code, error_buffer, unreachable);
    throw MirrorFailure{std::move(reason), unreachable, {}};
  }
  if (std::fflush(out.get()) != 0 || std::ferror(out.get()) != 0) {
    throw DataError(dest.string() + ": write failed: " + std::strerror(errno),
                    "check free disk space and permissions of " + dest.parent_path().string());
  }
  curl_off_t received = 0;
  curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &received);
  return static_cast<double>(received);
}

// Mirror base URL -> why it could not be reached. A host that refused one file is not asked for the
// next three: with connect timeouts a dead mirror would otherwise cost a minute per file.
using Unreachable = std::map<std::string, std::string>;

// Tries each mirror in turn for one file, recording in `result` where it came from or why each mirror failed.
void fetch_file(const DataFile& file, FileFetch& result, const std::vector<std::string>& mirrors,
                const FetchOptions& options, Unreachable& unreachable) {
  const stdfs::path& target = result.path;
  for (const auto& base : mirrors) {
    const std::string url = mirror_url(base, file.name);
    if (const auto dead = unreachable.find(base); dead != unreachable.end()) {
      result.failures.push_back({base, url, dead->second, "", false});
      continue;
    }
    if (options.progress) log::info("fetching " + file.name + " from " + url);
    const auto start = std::chrono::steady_clock::now();
    double bytes = 0;
    try {
      // atomic_write_with removes the temporary file when the lambda throws, so neither a dead mirror
      // nor a bad checksum leaves anything behind under either name.
      fs::atomic_write_with(target, [&](const stdfs::path& tmp) {
        bytes = download(url, tmp, options.timeout_seconds);
        const std::string actual = sha256_file(tmp);
        if (actual != file.sha256) {
          throw MirrorFailure{"checksum mismatch", false,
                              "got " + actual + " expected " + file.sha256 + " (" + human_size(bytes) + " received)"};
        }
      });
    } catch (const MirrorFailure& failure) {
      if (failure.unreachable) unreachable[base] = failure.reason;
      log::warn(url + ": " + failure.reason + (failure.detail.empty() ? "" : ": " + failure.detail) +
                (&base != &mirrors.back() ? "; trying the next mirror" : ""));
      result.failures.push_back({base, url, failure.reason, failure.detail, true});
      continue;
    } catch (const stdfs::filesystem_error& e) {
      throw DataError(target.string() + ": cannot store the download: " + e.code().message(),
                      "make " + target.parent_path().string() + " writable or choose another folder with --root");
    }
    result.status = "downloaded";
    result.url = url;
    result.bytes = bytes;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options.progress) {
      log::info(file.name + ": " + human_size(bytes) + format(" in %.1f s, checksum ok", result.seconds));
    }
    return;
  }
  result.status = "failed";
}

// One line per mirror with why it failed for the files that could not be fetched: "  URL: HTTP 404".
// Reasons that differ between files name the files: "  URL: HTTP 404 (a.gz); checksum mismatch (b.gz)".
std::string mirror_lines(const std::vector<std::string>& mirrors, const std::vector<FileFetch>& files) {
  std::string lines;
  std::vector<std::string> seen;
  for (const auto& mirror : mirrors) {
    if (std::find(seen.begin(), seen.end(), mirror) != seen.end()) continue;
    seen.push_back(mirror);
    std::vector<std::pair<std::string, std::string>> reasons;  // reason, the files it applies to
    for (const auto& file : files) {
      if (file.status != "failed") continue;
      for (const auto& attempt : file.failures) {
        if (attempt.mirror != mirror) continue;
        auto it =
            std::find_if(reasons.begin(), reasons.end(), [&](const auto& r) { return r.first == attempt.reason; });
        if (it == reasons.end()) {
          reasons.emplace_back(attempt.reason, file.name);
        } else if (it->second.find(file.name) == std::string::npos) {
          it->second += ", " + file.name;
        }
      }
    }
    if (reasons.empty()) continue;
    std::string line;
    for (const auto& [reason, names] : reasons) {
      line += (line.empty() ? "" : "; ") + reason + (reasons.size() > 1 ? " (" + names + ")" : "");
    }
    lines += "\n  " + mirror + ": " + line;
  }
  return lines;
}

// `folder` as an absolute path without a trailing separator: "data/mnist/" -> "/cwd/data/mnist".
stdfs::path absolute_folder(const stdfs::path& folder) {
  std::error_code ec;
  const stdfs::path p = stdfs::absolute(folder, ec).lexically_normal();
  return p.has_filename() ? p : p.parent_path();
}

// The topmost folder of `root` that does not exist yet (empty if `root` exists), as an absolute path.
stdfs::path first_missing_folder(const stdfs::path& root) {
  std::error_code ec;
  stdfs::path missing;
  for (stdfs::path p = absolute_folder(root); p.has_filename() && !stdfs::exists(p, ec); p = p.parent_path()) {
    missing = p;
  }
  return missing;
}

// Removes `root` and then its parents up to `top` (from first_missing_folder) while they are empty.
void remove_empty_folders(const stdfs::path& root, const stdfs::path& top) {
  std::error_code ec;
  for (stdfs::path p = absolute_folder(root); p.has_filename(); p = p.parent_path()) {
    if (!stdfs::is_empty(p, ec) || ec || !stdfs::remove(p, ec) || p == top) break;
  }
}

// DLTRAIN_TEST_SHA256="name=sha256[,name=sha256...]": the tests' files (a generated CIFAR-10 archive, which the
// published checksum cannot match) served through a loopback mirror. Never set it otherwise: it is what makes a
// download trusted.
DatasetInfo with_test_checksums(const DatasetInfo& info) {
  const char* env = std::getenv("DLTRAIN_TEST_SHA256");
  if (env == nullptr || *env == '\0') return info;
  DatasetInfo out = info;
  std::string rest = env;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string item = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    for (DataFile& f : out.files) {
      if (eq != std::string::npos && item.substr(0, eq) == f.name) {
        f.sha256 = item.substr(eq + 1);
        log::warn(f.name + ": checksum replaced by DLTRAIN_TEST_SHA256 (for tests only)");
      }
    }
  }
  return out;
}

}  // namespace

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw DataError(path.string() + ": cannot open for checksum: " + std::strerror(errno),
                    "check that the file exists and is readable");
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw DataError(path.string() + ": cannot compute SHA-256: OpenSSL digest initialisation failed",
                    "check the OpenSSL installation (libssl3)");
  }
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize got = in.gcount();
    if (got > 0) EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(got));
  }
  if (in.bad()) {
    throw DataError(path.string() + ": read error while computing checksum", "check the disk and the file");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &size);
  return to_hex(digest, size);
}

// Published checksums are of the .gz files, so only those can be verified. A raw (gunzipped) file or an extracted
// archive folder is reported present but not ok, with an explanation in `actual`: a user who wants a verified copy
// fetches the published files, which data_file() then prefers over the others.
std::vector<FileCheck> verify_dataset(const DatasetInfo& published, const std::filesystem::path& root) {
  const DatasetInfo info = with_test_checksums(published);
  std::vector<FileCheck> checks;
  for (const auto& file : info.files) {
    FileCheck check;
    check.name = file.name;
    check.path = data_file(root, file);
    check.expected = file.sha256;
    std::error_code ec;
    check.present = stdfs::exists(check.path, ec);
    if (!check.present) {
      checks.push_back(check);
      continue;
    }
    if (stdfs::is_directory(check.path, ec)) {
      check.actual = "(extracted folder, not verifiable)";
    } else if (check.path.extension() != ".gz") {
      check.actual = "(raw file, not verifiable)";
    } else {
      try {
        check.actual = sha256_file(check.path);
        check.ok = check.actual == check.expected;
      } catch (const DataError& e) {
        check.actual = std::string("(unreadable: ") + e.what() + ")";
      }
    }
    checks.push_back(check);
  }
  return checks;
}

void fetch_dataset(const DatasetInfo& published, const std::filesystem::path& root, const FetchOptions& options,
                   std::vector<FileFetch>* results) {
  const DatasetInfo info = with_test_checksums(published);
  const std::vector<std::string>& mirrors = options.mirrors.empty() ? info.mirrors : options.mirrors;
  if (mirrors.empty()) {
    throw DataError("dataset '" + info.name + "' has no download mirrors", "pass one with --mirror URL");
  }
  std::error_code ec;
  const stdfs::path created = first_missing_folder(root);
  stdfs::create_directories(root, ec);
  if (ec) {
    throw DataError(root.string() + ": cannot create dataset folder: " + ec.message(),
                    "choose a writable folder with --root DIR or DLTRAIN_DATA_DIR");
  }
  init_curl_once();

  // Every file is attempted even after one fails, so that one bad file costs one re-run, not four.
  std::vector<FileFetch> local;
  std::vector<FileFetch>& files = results != nullptr ? *results : local;
  files.clear();
  std::string failed;
  size_t failed_count = 0;
  Unreachable unreachable;
  for (const auto& file : info.files) {
    const stdfs::path target = root / file.name;
    files.emplace_back();
    files.back().name = file.name;
    files.back().path = target;
    files.back().status = "present";
    if (stdfs::is_regular_file(target, ec)) {
      const std::string actual = sha256_file(target);
      if (actual == file.sha256) {
        log::info(file.name + ": already present, checksum verified; skipping");
        continue;
      }
      log::warn(target.string() + ": checksum mismatch (got " + actual + "); downloading it again");
    } else if (data_file(root, file) != target) {
      log::info(data_file(root, file).string() + " is a raw file or extracted folder that cannot be verified; "
                "downloading " + file.name + ", which will be used instead");
    }
    fetch_file(file, files.back(), mirrors, options, unreachable);
    if (files.back().status == "failed") failed += (failed_count++ == 0 ? "" : ", ") + file.name;
  }
  if (failed_count > 0) {
    if (!created.empty()) remove_empty_folders(root, created);
    const std::string what =
        failed_count == info.files.size() ? "any of its " + std::to_string(failed_count) + " files" : failed;
    throw DataError("dataset '" + info.name + "': could not download " + what + " into " + root.string() +
                        "; mirrors tried:" + mirror_lines(mirrors, files),
                    "check the network or pass a working mirror with --mirror URL (a local copy: file:///folder/), "
                    "or set DLTRAIN_DATA_DIR to a folder whose " + info.name + "/ holds the files");
  }
}

}  // namespace dltrain::data
