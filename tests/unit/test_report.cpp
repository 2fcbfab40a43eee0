// The report files: TensorBoard records (CRC-32C, framing, the resume cut), steps.csv (resume cut, torn lines),
// chart coordinates that read back to the data, PNG encoding, and the cross-run helpers.
#include <png.h>

#include <cmath>
#include <fstream>
#include <regex>

#include "catch_compat.hpp"
#include "dltrain/report/png.hpp"
#include "dltrain/report/runs.hpp"
#include "dltrain/report/step_log.hpp"
#include "dltrain/report/svg.hpp"
#include "dltrain/report/tfevents.hpp"
#include "helpers.hpp"

using namespace dltrain;

TEST_CASE("CRC-32C matches the published check value and TFRecord's mask", "[report]") {
  CHECK(report::crc32c("123456789") == 0xE3069283U);  // RFC 3720's CRC-32C check value
  CHECK(report::crc32c("") == 0U);
  const uint32_t c = report::crc32c("abc");
  CHECK(report::masked_crc32c("abc") == ((c >> 15 | c << 17) + 0xa282ead8U));
}

TEST_CASE("TFRecords read back and a corrupt byte ends the readable part", "[report]") {
  testing::TempDir dir;
  const auto path = dir.path / "events";
  const std::string a = report::scalars_event(1.5e9, 100, {{"train/loss", 0.25}});
  const std::string b = report::scalars_event(1.5e9, 200, {{"train/loss", 0.125}});
  std::ofstream(path, std::ios::binary) << report::tf_record(report::file_version_event(1.5e9)) << report::tf_record(a)
                                         << report::tf_record(b);
  auto records = report::read_tf_records(path);
  REQUIRE(records.size() == 3);
  CHECK(records[1].payload == a);
  CHECK(report::event_step(records[0].payload) == 0);
  CHECK(report::event_step(records[1].payload) == 100);
  CHECK(report::event_step(records[2].payload) == 200);
  {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(records[1].end + 20));  // inside the third record's payload
    f.put('\x7f');
  }
  CHECK(report::read_tf_records(path).size() == 2);
}

TEST_CASE("A resumed event file drops what was written after the checkpoint's step", "[report]") {
  testing::TempDir dir;
  std::filesystem::path first;
  {
    report::EventWriter w(dir.path, "host", -1);
    for (const int64_t step : {10, 20, 30, 40}) w.write(step, {{"train/loss", 1.0 / static_cast<double>(step)}});
    first = w.path();
  }
  {
    report::EventWriter w(dir.path, "host", 20);  // the checkpoint was at step 20; steps 30 and 40 are trained again
    CHECK(w.path() == first);
    w.write(30, {{"train/loss", 0.5}});
  }
  std::vector<int64_t> steps;
  for (const auto& r : report::read_tf_records(first)) steps.push_back(report::event_step(r.payload));
  CHECK(steps == std::vector<int64_t>{0, 10, 20, 30});
}

TEST_CASE("steps.csv: a resumed log keeps the rows up to its step, and a torn last line is ignored", "[report]") {
  testing::TempDir dir;
  const auto path = dir.path / "steps.csv";
  {
    report::StepLog log(path, -1);
    for (int64_t s = 1; s <= 4; ++s) log.append({s * 10, 1, 1.0 / static_cast<double>(s), 0.5, 0.1, 1000.0, 1.0 * static_cast<double>(s)});
  }
  std::ofstream(path, std::ios::app) << "50,1,0.1";  // a write cut short by kill -9
  CHECK(report::read_steps_csv(path).size() == 4);
  report::StepLog resumed(path, 20);
  CHECK(resumed.rows().size() == 2);
  resumed.append({30, 1, std::nan(""), 0.5, 0.1, 1000.0, 3.0});
  const auto rows = report::read_steps_csv(path);
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].loss == Approx(0.5));
  CHECK(rows[2].step == 30);
  CHECK(std::isnan(rows[2].loss));  // a diverged interval: an empty field
}

TEST_CASE("A line chart's points map back to the data through its data-xmap and data-ymap", "[report]") {
  for (const bool log_y : {false, true}) {
    report::Chart c;
    c.id = "loss";
    c.log_y = log_y;
    const std::vector<double> x = {100, 200, 300, 400}, y = {2.3, 0.4, std::nan(""), 0.05};
    const std::string svg = report::line_chart(c, {{"train_loss", "train", "#000", x, y}});
    std::smatch m;
    REQUIRE(std::regex_search(svg, m, std::regex("data-xmap=\"([^ ]+) ([^\"]+)\" data-ymap=\"([^ ]+) ([^\"]+)\"")));
    const double a = std::stod(m[1]), b = std::stod(m[2]), cy = std::stod(m[3]), dy = std::stod(m[4]);
    REQUIRE(std::regex_search(svg, m, std::regex("data-series=\"train_loss\" points=\"([^\"]+)\"")));
    std::vector<std::pair<double, double>> back;
    const std::string points = m[1];
    const std::regex pair("([-0-9.]+),([-0-9.]+)");
    for (auto it = std::sregex_iterator(points.begin(), points.end(), pair); it != std::sregex_iterator(); ++it) {
      const double px = std::stod((*it)[1]), py = std::stod((*it)[2]);
      const double v = (py - dy) / cy;
      back.emplace_back((px - b) / a, log_y ? std::pow(10.0, v) : v);
    }
    REQUIRE(back.size() == 3);  // the NaN is left out
    CHECK(back[0].first == Approx(100).margin(0.5));
    CHECK(back[1].second == Approx(0.4).epsilon(1e-3));
    CHECK(back[2].second == Approx(0.05).epsilon(1e-3));
  }
}

TEST_CASE("PNG encoding decodes back to the same pixels", "[report]") {
  const torch::Tensor image = torch::arange(0, 28 * 28, torch::kInt32).remainder(256).to(torch::kUInt8).reshape({1, 28, 28});
  const std::string bytes = report::encode_png(image);
  REQUIRE(bytes.substr(1, 3) == "PNG");
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  REQUIRE(png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()) != 0);
  png.format = PNG_FORMAT_GRAY;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(png));
  REQUIRE(png_image_finish_read(&png, nullptr, pixels.data(), 0, nullptr) != 0);
  CHECK(png.width == 28);
  CHECK(torch::equal(torch::from_blob(pixels.data(), {1, 28, 28}, torch::kUInt8), image));
  CHECK(report::base64("Man") == "TWFu");
  CHECK(report::base64("Ma") == "TWE=");
}

TEST_CASE("Run comparison: differing config keys and the headline", "[report]") {
  const auto run = [](double lr, int64_t epochs, double accuracy) {
    report::RunFiles r;
    r.dir = "runs/x";
    r.report = {{"config", {{"run", {{"name", "x"}}}, {"train", {{"epochs", epochs}, {"optimizer", {{"lr", lr}}}}}}},
                {"result", {{"model", "best.pt"}, {"epoch", 3}, {"chosen_by", "val_accuracy"},
                            {"test_accuracy", accuracy}, {"test_accuracy_stderr", 0.001}}}};
    return r;
  };
  const std::vector<report::RunFiles> runs = {run(0.1, 3, 0.99), run(0.01, 3, 0.98), run(0.1, 3, 0.97)};
  CHECK(report::differing_keys(runs) == std::vector<std::string>{"/train/optimizer/lr"});
  CHECK(report::headline_accuracy(runs[1].report) == Approx(0.98));
  CHECK(report::headline_text(runs[0].report) == "99.00% ± 0.10% test accuracy of best.pt (epoch 3, chosen by val_accuracy)");
  CHECK(std::isnan(report::headline_accuracy(nlohmann::json{{"status", "running"}})));
  const std::string md = report::markdown_comparison(runs);
  CHECK(md.find("train.optimizer.lr") != std::string::npos);
  CHECK(md.find("| 0.01 |") != std::string::npos);
}
