// Tests for data/fetch: SHA-256 known answers, verify_dataset's verdicts, and fetch_dataset's mirror
// fallback and no-partial-file guarantee, using file:// mirrors so that no network is needed.
// fetch.hpp pulls in Torch, whose glog defines a CHECK macro of its own; Catch must come after it so
// that Catch's CHECK is the one in force (the precompiled header does the same in the CMake build).
#include "dltrain/data/fetch.hpp"
// (keep this order)
#include "catch_compat.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dltrain/core/error.hpp"

namespace {

namespace stdfs = std::filesystem;
using dltrain::DataError;
using dltrain::data::DatasetInfo;
using dltrain::data::FetchOptions;
using dltrain::data::FileCheck;

// FIPS 180-2 known answers, confirmed with `printf ... | sha256sum`.
const std::string kShaAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kShaEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kShaMillionA = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
const std::string kShaHelloNewline = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = stdfs::temp_directory_path() /
            ("dltrain-test-fetch-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    stdfs::remove_all(path_);
    stdfs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    stdfs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const stdfs::path& path() const { return path_; }

 private:
  stdfs::path path_;
};

void write(const stdfs::path& path, const std::string& content) {
  stdfs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string file_url(const stdfs::path& dir) { return "file://" + stdfs::absolute(dir).string(); }

// Four files whose checksums are the known answers above; their content is irrelevant to fetch.
DatasetInfo fake_dataset() {
  DatasetInfo info{};
  info.name = "fake";
  info.files = {{{"a.gz", kShaAbc}, {"b.gz", kShaEmpty}, {"c.gz", kShaHelloNewline}, {"d.gz", kShaMillionA}}};
  return info;
}

void write_good_mirror(const stdfs::path& dir) {
  write(dir / "a.gz", "abc");
  write(dir / "b.gz", "");
  write(dir / "c.gz", "hello\n");
  write(dir / "d.gz", std::string(1000000, 'a'));
}

std::vector<std::string> entries(const stdfs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : stdfs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

FetchOptions quiet_options(std::vector<std::string> mirrors) {
  FetchOptions options;
  options.mirrors = std::move(mirrors);
  options.progress = false;
  options.timeout_seconds = 30;
  return options;
}

}  // namespace

TEST_CASE("sha256_file matches known answers", "[fetch]") {
  TempDir tmp;
  write(tmp.path() / "abc", "abc");
  write(tmp.path() / "empty", "");
  write(tmp.path() / "million", std::string(1000000, 'a'));  // spans many read buffers
  CHECK(dltrain::data::sha256_file(tmp.path() / "abc") == kShaAbc);
  CHECK(dltrain::data::sha256_file(tmp.path() / "empty") == kShaEmpty);
  CHECK(dltrain::data::sha256_file(tmp.path() / "million") == kShaMillionA);
}

TEST_CASE("sha256_file on a missing file throws DataError naming it", "[fetch]") {
  TempDir tmp;
  const stdfs::path missing = tmp.path() / "nope.gz";
  try {
    dltrain::data::sha256_file(missing);
    FAIL("expected DataError");
  } catch (const DataError& e) {
    CHECK_THAT(e.what(), ContainsText(missing.string()));
    CHECK(e.exit_code() == dltrain::kExitData);
  }
}

TEST_CASE("verify_dataset reports good, corrupt, missing and raw files", "[fetch]") {
  TempDir tmp;
  write(tmp.path() / "a.gz", "abc");     // good
  write(tmp.path() / "b.gz", "oops");    // corrupt: expected the empty file's digest
  write(tmp.path() / "d", "raw bytes");  // raw d instead of d.gz; c.gz is missing
  const std::vector<FileCheck> checks = dltrain::data::verify_dataset(fake_dataset(), tmp.path());
  REQUIRE(checks.size() == 4);

  CHECK(checks[0].name == "a.gz");
  CHECK(checks[0].present);
  CHECK(checks[0].ok);
  CHECK(checks[0].actual == kShaAbc);

  CHECK(checks[1].present);
  CHECK_FALSE(checks[1].ok);
  CHECK(checks[1].expected == kShaEmpty);
  CHECK(checks[1].actual == dltrain::data::sha256_file(tmp.path() / "b.gz"));
  CHECK(checks[1].actual != kShaEmpty);

  CHECK_FALSE(checks[2].present);
  CHECK_FALSE(checks[2].ok);
  CHECK(checks[2].actual.empty());
  CHECK(checks[2].path == tmp.path() / "c.gz");

  CHECK(checks[3].present);
  CHECK_FALSE(checks[3].ok);
  CHECK(checks[3].path == tmp.path() / "d");
  CHECK_THAT(checks[3].actual, ContainsText("raw file"));
}

TEST_CASE("fetch_dataset downloads, verifies and then skips verified files", "[fetch]") {
  TempDir tmp;
  const stdfs::path mirror = tmp.path() / "mirror";
  const stdfs::path root = tmp.path() / "root" / "fake";  // created by fetch
  write_good_mirror(mirror);
  DatasetInfo info = fake_dataset();
  info.mirrors = {file_url(tmp.path() / "no-such-mirror")};  // options.mirrors must override this

  dltrain::data::fetch_dataset(info, root, quiet_options({file_url(mirror)}));
  CHECK(entries(root) == std::vector<std::string>{"a.gz", "b.gz", "c.gz", "d.gz"});
  for (const auto& check : dltrain::data::verify_dataset(info, root)) CHECK(check.ok);

  // Every file is present and verified, so a dead mirror does not matter.
  REQUIRE_NOTHROW(dltrain::data::fetch_dataset(info, root, quiet_options({file_url(tmp.path() / "dead")})));
}

TEST_CASE("fetch_dataset falls back to the next mirror and replaces a corrupt file", "[fetch]") {
  TempDir tmp;
  const stdfs::path mirror = tmp.path() / "mirror";
  const stdfs::path root = tmp.path() / "root";
  write_good_mirror(mirror);
  write(root / "c.gz", "corrupt");  // a corrupt local copy is downloaded again

  dltrain::data::fetch_dataset(fake_dataset(), root,
                               quiet_options({file_url(tmp.path() / "dead") + "/", file_url(mirror) + "/"}));
  CHECK(entries(root) == std::vector<std::string>{"a.gz", "b.gz", "c.gz", "d.gz"});
  CHECK(dltrain::data::sha256_file(root / "c.gz") == kShaHelloNewline);
}

TEST_CASE("fetch_dataset rejects a corrupt download and leaves no partial file", "[fetch]") {
  TempDir tmp;
  const stdfs::path mirror = tmp.path() / "mirror";
  const stdfs::path root = tmp.path() / "root";
  write_good_mirror(mirror);
  write(mirror / "c.gz", "hello, corrupted\n");

  std::vector<dltrain::data::FileFetch> results;
  try {
    dltrain::data::fetch_dataset(fake_dataset(), root, quiet_options({file_url(mirror)}), &results);
    FAIL("expected DataError");
  } catch (const DataError& e) {
    const std::string message = e.what();
    CHECK_THAT(message, ContainsText("c.gz"));
    CHECK_THAT(message, ContainsText("\n  " + file_url(mirror) + ": checksum mismatch"));
    CHECK_THAT(message, !ContainsText("a.gz"));  // only the failed file is named
    CHECK_FALSE(e.hint().empty());
  }
  // The results say what happened to each file; the digest received is in the failure's detail.
  REQUIRE(results.size() == 4);
  CHECK(results[0].status == "downloaded");
  CHECK(results[0].url == file_url(mirror) + "/a.gz");
  CHECK(results[2].status == "failed");
  REQUIRE(results[2].failures.size() == 1);
  CHECK(results[2].failures[0].reason == "checksum mismatch");
  CHECK_THAT(results[2].failures[0].detail, ContainsText(kShaHelloNewline));
  // The good files are kept; the corrupt one exists under no name, temporary or final.
  CHECK(entries(root) == std::vector<std::string>{"a.gz", "b.gz", "d.gz"});
}

TEST_CASE("fetch_dataset names every mirror tried when all fail", "[fetch]") {
  TempDir tmp;
  const std::string dead1 = file_url(tmp.path() / "dead1");
  const std::string dead2 = file_url(tmp.path() / "dead2");
  const stdfs::path root = tmp.path() / "root";
  try {
    dltrain::data::fetch_dataset(fake_dataset(), root, quiet_options({dead1, dead2}));
    FAIL("expected DataError");
  } catch (const DataError& e) {
    // One short line per mirror with its reason, not one per file and mirror.
    const std::string message = e.what();
    CHECK_THAT(message, ContainsText("could not download any of its 4 files"));
    CHECK_THAT(message, ContainsText("\n  " + dead1 + ": no such file or unreadable"));
    CHECK_THAT(message, ContainsText("\n  " + dead2 + ": no such file or unreadable"));
    CHECK_THAT(message, !ContainsText("/a.gz"));
    CHECK_THAT(e.hint(), ContainsText("--mirror"));
  }
  CHECK_FALSE(stdfs::exists(root));  // the folder fetch created is removed again
}

TEST_CASE("fetch_dataset removes only the empty folders it created", "[fetch]") {
  TempDir tmp;
  const std::string dead = file_url(tmp.path() / "dead");
  stdfs::create_directories(tmp.path() / "kept");
  CHECK_THROWS_AS(dltrain::data::fetch_dataset(fake_dataset(), tmp.path() / "kept" / "a" / "b",
                                               quiet_options({dead})),
                  DataError);
  CHECK(entries(tmp.path() / "kept").empty());  // a and a/b are gone, kept stays
  CHECK_THROWS_AS(dltrain::data::fetch_dataset(fake_dataset(), tmp.path() / "kept", quiet_options({dead})), DataError);
  CHECK(stdfs::is_directory(tmp.path() / "kept"));
}

TEST_CASE("fetch_dataset without any mirror throws DataError", "[fetch]") {
  TempDir tmp;
  REQUIRE_THROWS_AS(dltrain::data::fetch_dataset(fake_dataset(), tmp.path(), quiet_options({})), DataError);
}
