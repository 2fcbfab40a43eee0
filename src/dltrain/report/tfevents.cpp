// TensorBoard event files (see tfevents.hpp). Protocol buffer wire format: each field is a varint key
// (field number << 3 | wire type) followed by a varint (type 0), 8 bytes (1), a length and bytes (2) or 4 bytes (5).
#include "dltrain/report/tfevents.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "dltrain/core/error.hpp"

namespace dltrain::report {
namespace {

// Event fields (event.proto) and Summary fields (summary.proto) that dltrain writes.
constexpr int kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5;
constexpr int kSummaryValue = 1, kValueTag = 1, kValueSimple = 2;

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? (c >> 1) ^ 0x82F63B78U : c >> 1;  // reflected Castagnoli
      t[i] = c;
    }
    return t;
  }();
  return table;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

template <typename T>
void put_little_endian(std::string& out, T v) {  // x86 and ARM are little-endian, as the format
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_key(std::string& out, int field, int wire_type) { put_varint(out, static_cast<uint64_t>(field << 3 | wire_type)); }

void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}

std::string event_header(double wall_time, int64_t step) {
  std::string e;
  put_key(e, kWallTime, 1);
  put_little_endian(e, wall_time);
  if (step != 0) {
    put_key(e, kStep, 0);
    put_varint(e, static_cast<uint64_t>(step));
  }
  return e;
}

bool get_varint(const std::string& in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && pos < in.size(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in[pos++]);
    v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const std::string& data) {
  const auto& table = crc_table();
  uint32_t c = 0xFFFFFFFFU;
  for (const char ch : data) c = table[(c ^ static_cast<uint8_t>(ch)) & 0xFFU] ^ (c >> 8);
  return c ^ 0xFFFFFFFFU;
}

uint32_t masked_crc32c(const std::string& data) {
  const uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xa282ead8U;
}

std::string tf_record(const std::string& payload) {
  std::string length;
  put_little_endian(length, static_cast<uint64_t>(payload.size()));
  std::string out = length;
  put_little_endian(out, masked_crc32c(length));
  out += payload;
  put_little_endian(out, masked_crc32c(payload));
  return out;
}

std::string file_version_event(double wall_time) {
  std::string e = event_header(wall_time, 0);
  put_bytes(e, kFileVersion, "brain.Event:2");
  return e;
}

std::string scalars_event(double wall_time, int64_t step, const Scalars& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, kValueTag, tag);
    put_key(v, kValueSimple, 5);
    put_little_endian(v, static_cast<float>(value));
    put_bytes(summary, kSummaryValue, v);
  }
  std::string e = event_header(wall_time, step);
  put_bytes(e, kSummary, summary);
  return e;
}

std::vector<TfRecord> read_tf_records(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<TfRecord> records;
  uint64_t pos = 0;
  while (data.size() - pos >= 12) {
    const std::string length_bytes = data.substr(pos, 8);
    uint64_t length = 0;
    uint32_t length_crc = 0, payload_crc = 0;
    std::memcpy(&length, length_bytes.data(), 8);
    std::memcpy(&length_crc, data.data() + pos + 8, 4);
    if (length_crc != masked_crc32c(length_bytes) || data.size() - pos - 12 < length + 4) break;
    std::string payload = data.substr(pos + 12, length);
    std::memcpy(&payload_crc, data.data() + pos + 12 + length, 4);
    if (payload_crc != masked_crc32c(payload)) break;
    pos += 12 + length + 4;
    records.push_back({std::move(payload), pos});
  }
  return records;
}

int64_t event_step(const std::string& event) {
  size_t pos = 0;
  uint64_t key = 0, v = 0;
  while (pos < event.size() && get_varint(event, pos, key)) {
    switch (key & 7U) {
      case 0:
        if (!get_varint(event, pos, v)) return 0;
        if (key >> 3 == kStep) return static_cast<int64_t>(v);
        break;
      case 1: pos += 8; break;
      case 5: pos += 4; break;
      case 2:
        if (!get_varint(event, pos, v)) return 0;
        pos += v;
        break;
      default: return 0;
    }
  }
  return 0;
}

EventWriter::EventWriter(const std::filesystem::path& dir, const std::string& host, int64_t resume_step) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::vector<std::filesystem::path> existing;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) existing.push_back(entry.path());
  }
  std::sort(existing.begin(), existing.end());
  if (resume_step >= 0 && !existing.empty()) {
    path_ = existing.back();
    uint64_t keep = 0;
    for (const TfRecord& r : read_tf_records(path_)) {
      if (event_step(r.payload) > resume_step) break;
      keep = r.end;
    }
    std::filesystem::resize_file(path_, keep, ec);
    if (ec) throw IoError(path_.string() + ": cannot cut the events a stopped run wrote after its checkpoint: " + ec.message());
    file_ = std::fopen(path_.c_str(), "ab");
    if (file_ != nullptr && keep == 0) append(file_version_event(now_seconds()));
  } else {
    const double now = now_seconds();
    path_ = dir / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(now)) + "." + host);
    file_ = std::fopen(path_.c_str(), "ab");
    if (file_ != nullptr) append(file_version_event(now));
  }
  if (file_ == nullptr) {
    throw IoError(path_.string() + ": cannot open for writing: " + std::strerror(errno),
                  "check that the run directory is writable and the disk is not full");
  }
}

EventWriter::~EventWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void EventWriter::write(int64_t step, const Scalars& scalars) { append(scalars_event(now_seconds(), step, scalars)); }

void EventWriter::append(const std::string& event) {
  const std::string record = tf_record(event);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0) {
    throw IoError(path_.string() + ": write failed: " + std::strerror(errno), "check that the disk is not full");
  }
}

}  // namespace dltrain::report
