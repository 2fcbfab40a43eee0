// TensorBoard event files, written directly: TFRecord framing (a length and masked CRC-32C checksums) around
// Event protocol buffers of a few fields (TensorFlow's event.proto and summary.proto), so TensorBoard shows the run's
// scalars without TensorFlow or protoc.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace dltrain::report {

// CRC-32C (Castagnoli), and the masked form TFRecord stores. Debian 12 packages no CRC-32C library.
uint32_t crc32c(const std::string& data);
uint32_t masked_crc32c(const std::string& data);

// One TFRecord: uint64 length, masked CRC of the length, the payload, masked CRC of the payload (little-endian).
std::string tf_record(const std::string& payload);

using Scalars = std::vector<std::pair<std::string, double>>;  // tag, value
// Serialized Event messages: the file_version header ("brain.Event:2") and a Summary of simple_value scalars.
std::string file_version_event(double wall_time);
std::string scalars_event(double wall_time, int64_t step, const Scalars& scalars);

// A file's whole records in order, and where each ends; reading stops at the first truncated or corrupt record.
struct TfRecord {
  std::string payload;
  uint64_t end = 0;  // byte offset just after it
};
std::vector<TfRecord> read_tf_records(const std::filesystem::path& path);
// The step of a serialized Event (0 when it has none, as in the file_version header).
int64_t event_step(const std::string& event);

// Appends scalars to <dir>/events.out.tfevents.<unix seconds>.<host>, flushed as they are written.
class EventWriter {
 public:
  // A new run (resume_step < 0) starts a new file. A resumed run continues the newest file of `dir`, first cutting
  // what a killed process wrote after step `resume_step` (and any torn last record): steps stay consistent.
  EventWriter(const std::filesystem::path& dir, const std::string& host, int64_t resume_step);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void write(int64_t step, const Scalars& scalars);
  const std::filesystem::path& path() const { return path_; }

 private:
  void append(const std::string& event);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace dltrain::report
