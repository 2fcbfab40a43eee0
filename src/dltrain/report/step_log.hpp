// steps.csv: one row per log interval, appended and flushed as the run goes, so that `tail -f` shows it and a
// killed run keeps every row it wrote.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <vector>

namespace dltrain::report {

// One log interval: the training loss and accuracy are means over the interval's steps (since the previous row, or
// since the process started for the first row of a resumed run).
struct StepRow {
  int64_t step = 0;  // optimizer steps done
  int64_t epoch = 0;
  double loss = 0, accuracy = 0, lr = 0;
  double images_per_second = 0;  // over the interval's training time
  double elapsed_s = 0;          // training run's wall time so far (all its processes)
};

inline constexpr const char* kStepsCsvHeader = "step,epoch,loss,accuracy,lr,images_per_second,elapsed_s";

// The rows of a steps.csv; a torn last line (a killed writer) is left out. A missing file has none.
std::vector<StepRow> read_steps_csv(const std::filesystem::path& path);

class StepLog {
 public:
  // A new run (resume_step < 0) starts the file; a resumed one keeps the rows up to resume_step (a killed process
  // may have logged steps after its last checkpoint, which the resumed run trains again) and appends.
  StepLog(const std::filesystem::path& path, int64_t resume_step);
  ~StepLog();
  StepLog(const StepLog&) = delete;
  StepLog& operator=(const StepLog&) = delete;

  void append(const StepRow& row);
  const std::vector<StepRow>& rows() const { return rows_; }  // every row of the file

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::vector<StepRow> rows_;
};

}  // namespace dltrain::report
