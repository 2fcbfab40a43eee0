// Config parsing: defaults round-trip, every error class names its JSON path, overrides.
#include "dltrain/config/config.hpp"
#include "dltrain/config/overrides.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/fs.hpp"
#include "helpers.hpp"

#include "catch_compat.hpp"

using dltrain::config::parse;
using nlohmann::json;

namespace {

std::string error_of(const json& doc) {
  try {
    parse(doc, "x.json");
  } catch (const dltrain::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("defaults round-trip through JSON", "[config]") {
  const dltrain::config::Config c;
  const json j = dltrain::config::to_json(c);
  CHECK(dltrain::config::to_json(parse(j, "x")) == j);
  CHECK(j["train"]["optimizer"]["name"] == "adam");
}

TEST_CASE("per-optimizer defaults and relevant keys only", "[config]") {
  const auto c = parse(json::parse(R"({"train": {"optimizer": {"name": "adadelta"}}})"), "x");
  CHECK(c.train.optimizer.lr == 1.0);
  CHECK(c.train.optimizer.eps == 1e-6);
  const json j = dltrain::config::to_json(c);
  CHECK(j["train"]["optimizer"].contains("rho"));
  CHECK_FALSE(j["train"]["optimizer"].contains("momentum"));
  CHECK(error_of(json::parse(R"({"train": {"optimizer": {"name": "adam", "momentum": 0.9}}})"))
            .find("/train/optimizer/momentum: unknown key") != std::string::npos);
}

TEST_CASE("unknown keys get a did-you-mean", "[config]") {
  const std::string e = error_of(json::parse(R"({"train": {"epoch": 3}})"));
  CHECK(e.find("x.json: /train/epoch: unknown key 'epoch' (did you mean 'epochs'?)") != std::string::npos);
}

TEST_CASE("wrong types and ranges name the path and the value", "[config]") {
  CHECK(error_of(json::parse(R"({"train": {"epochs": "ten"}})")).find("/train/epochs: expected an integer (got \"ten\")") !=
        std::string::npos);
  CHECK(error_of(json::parse(R"({"train": {"optimizer": {"lr": -0.01}}})")).find("/train/optimizer/lr: must be > 0") !=
        std::string::npos);
  CHECK(error_of(json::parse(R"({"data": {"dataset": "mnsit"}})")).find("did you mean 'mnist'") != std::string::npos);
  CHECK(error_of(json::parse(R"({"model": {"layers": [{"type": "conv3d"}]}})")).find("/model/layers/0/type") !=
        std::string::npos);
  CHECK(error_of(json::parse(R"({"train": {"device": "gpu"}})")).find("/train/device") != std::string::npos);
  CHECK(error_of(json::parse("[1, 2]")).find("must be a JSON object") != std::string::npos);
}

TEST_CASE("all errors of a file are reported at once", "[config]") {
  const std::string e =
      error_of(json::parse(R"({"train": {"epochs": 0, "batch_size": "x", "optimizer": {"nmae": "sgd"}}, "extra": 1})"));
  CHECK(std::count(e.begin(), e.end(), '\n') == 3);
  CHECK(e.find("/train/epochs") != std::string::npos);
  CHECK(e.find("/train/batch_size") != std::string::npos);
  CHECK(e.find("/train/optimizer/nmae") != std::string::npos);
  CHECK(e.find("/extra") != std::string::npos);
}

TEST_CASE("layers model: only the keys of each layer type", "[config]") {
  const auto c = parse(json::parse(R"({"model": {"layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3},
                                                                  {"type": "linear", "out_features": 10}]}})"),
                           "x");
  CHECK(c.model.type == "layers");
  REQUIRE(c.model.layers.size() == 2);
  CHECK(c.model.layers[0].kernel_size == 3);
  CHECK(error_of(json::parse(R"({"model": {"layers": [{"type": "linear", "out_features": 10, "kernel_size": 3}]}})"))
            .find("/model/layers/0/kernel_size: unknown key") != std::string::npos);
}

TEST_CASE("set-key overrides", "[config]") {
  json doc = json::parse(R"({"train": {"epochs": 3}, "model": {"layers": [{"type": "dropout", "p": 0.5}]}})");
  dltrain::config::apply_overrides(doc, {"train.epochs=7", "train.optimizer.name=sgd", "model.layers.0.p=0.25",
                                         "run.name=my run"});
  CHECK(doc["train"]["epochs"] == 7);
  CHECK(doc["train"]["optimizer"]["name"] == "sgd");
  CHECK(doc["model"]["layers"][0]["p"] == 0.25);
  CHECK(doc["run"]["name"] == "my run");
  CHECK_THROWS_AS(dltrain::config::apply_overrides(doc, {"train.epochs"}), dltrain::UsageError);
  CHECK_THROWS_AS(dltrain::config::apply_overrides(doc, {"train..epochs=1"}), dltrain::UsageError);
  CHECK_THROWS_AS(dltrain::config::apply_overrides(doc, {"model.layers.5.p=1"}), dltrain::UsageError);
}

TEST_CASE("malformed JSON names the line and column", "[config]") {
  dltrain::testing::TempDir dir;
  const auto path = dir.path / "bad.json";
  dltrain::fs::atomic_write(path, "{\n  \"train\": {\"epochs\": 3,}\n}\n");
  try {
    dltrain::config::load(path);
    FAIL("no error");
  } catch (const dltrain::ConfigError& e) {
    CHECK(std::string(e.what()).find("bad.json:2:") != std::string::npos);
    CHECK(e.hint().find("trailing commas") != std::string::npos);
  }
  CHECK_THROWS_AS(dltrain::config::load(dir.path / "absent.json"), dltrain::ConfigError);
}

TEST_CASE("shipped configs are valid", "[config]") {
  const char* src = std::getenv("DLTRAIN_SOURCE_DIR");
  if (src == nullptr) return;
  for (const char* name : {"mnist_cnn.json", "mnist_mlp.json", "fashion_cnn.json", "tiny.json"}) {
    INFO(name);
    CHECK_NOTHROW(dltrain::config::load(std::filesystem::path(src) / "configs" / name));
  }
}

TEST_CASE("inputs found by fuzzing are config or usage errors, not crashes", "[config]") {
  json doc = json::parse(R"({"model": {"layers": [{"type": "relu"}]}})");
  CHECK_THROWS_AS(dltrain::config::apply_overrides(doc, {"model.layers.99999999999999999999=1"}), dltrain::UsageError);
  CHECK_THROWS_AS(dltrain::config::apply_overrides(doc, {"run.name=\x84"}), dltrain::UsageError);  // not UTF-8
  // Nested far deeper than the stack allows dump() to recurse (it used to crash describing the value).
  const size_t depth = 1000000;
  const json deep = json::parse("{\"run\": " + std::string(depth, '[') + std::string(depth, ']') + "}");
  CHECK(error_of(deep).find("(got [...])") != std::string::npos);
  dltrain::testing::TempDir dir;
  dltrain::fs::atomic_write(dir.path / "huge.json", R"({"train": {"epochs": 1e999}})");
  CHECK_THROWS_AS(dltrain::config::load(dir.path / "huge.json"), dltrain::ConfigError);
}
