// steps.csv (see step_log.hpp).
#include "dltrain/report/step_log.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/core/fs.hpp"

namespace dltrain::report {
namespace {

// %.9g keeps every digit a float has: the report's charts draw these same numbers. NaN: an empty field.
std::string field(double v) { return std::isfinite(v) ? format("%.9g", v) : ""; }

std::string csv_line(const StepRow& r) {
  return format("%lld,%lld,", static_cast<long long>(r.step), static_cast<long long>(r.epoch)) + field(r.loss) + "," +
         field(r.accuracy) + "," + field(r.lr) + "," + field(r.images_per_second) + "," +
         format("%.3f", r.elapsed_s) + "\n";
}

double number(const std::string& s) {
  return s.empty() ? std::numeric_limits<double>::quiet_NaN() : std::stod(s);
}

}  // namespace

std::vector<StepRow> read_steps_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<StepRow> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: a torn last line
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string s; std::getline(fields, s, ',');) f.push_back(s);
    if (!line.empty() && line.back() == ',') f.emplace_back();
    if (f.size() != 7) continue;
    try {
      rows.push_back({std::stoll(f[0]), std::stoll(f[1]), number(f[2]), number(f[3]), number(f[4]), number(f[5]),
                      number(f[6])});
    } catch (const std::exception&) {
      continue;  // a line a killed writer left half-written
    }
  }
  return rows;
}

StepLog::StepLog(const std::filesystem::path& path, int64_t resume_step) : path_(path) {
  std::string kept = std::string(kStepsCsvHeader) + "\n";
  if (resume_step >= 0) {
    for (const StepRow& r : read_steps_csv(path)) {
      if (r.step > resume_step) break;
      rows_.push_back(r);
      kept += csv_line(r);
    }
  }
  fs::atomic_write(path, kept);
  file_ = std::fopen(path.c_str(), "a");
  if (file_ == nullptr) {
    throw IoError(path.string() + ": cannot open for appending: " + std::strerror(errno),
                  "check that the run directory is writable and the disk is not full");
  }
}

StepLog::~StepLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void StepLog::append(const StepRow& row) {
  const std::string line = csv_line(row);
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    throw IoError(path_.string() + ": write failed: " + std::strerror(errno), "check that the disk is not full");
  }
  rows_.push_back(row);
}

}  // namespace dltrain::report
