// Config parsing: defaults round-trip, every error class names its JSON path, overrides.
#include <functional>

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
  CHECK(c.model.type == dltrain::config::ModelType::kLayers);
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

namespace {

// Every word of `vocabulary` has a row for its enum value, and a config that sets every key the row lists (to the
// row's default) parses and writes back exactly those keys: the table and the parser agree.
template <class E>
void check_vocabulary(const dltrain::config::Vocabulary<E>& vocabulary, const std::string& word_key,
                      const std::function<json(const json&)>& place) {
  for (const auto& term : vocabulary.terms()) {
    CAPTURE(term.name);
    CHECK(std::string(vocabulary.name(term.value)) == term.name);
    CHECK(vocabulary.find(term.name) == &vocabulary.at(term.value));
    json entry = term.keys;
    entry[word_key] = term.name;
    const json written = dltrain::config::to_json(parse(place(entry), "x"));
    json keys = json::array();
    for (auto it = entry.begin(); it != entry.end(); ++it) keys.push_back(it.key());
    const json& back = written.at(json::json_pointer(place(json("mark")).flatten().begin().key()));
    json back_keys = json::array();
    for (auto it = back.begin(); it != back.end(); ++it) back_keys.push_back(it.key());
    CHECK(back_keys == keys);
  }
}

}  // namespace

TEST_CASE("each vocabulary table agrees with the parser: names, enum values, keys and defaults", "[config]") {
  using namespace dltrain::config;
  check_vocabulary(optimizers(), "name", [](const json& e) { return json{{"train", {{"optimizer", e}}}}; });
  check_vocabulary(schedulers(), "name", [](const json& e) {
    json train = {{"scheduler", e}};
    if (e.is_object() && e.value("name", "") == "multistep") train["scheduler"]["milestones"] = {2};
    return json{{"train", train}};
  });
  check_vocabulary(layer_types(), "type", [](const json& e) {
    json layer = e;
    if (e.is_object()) {  // give each layer a valid model around it; the keys written back are the layer's
      for (const char* key : {"out_features", "out_channels", "kernel_size"}) {
        if (layer.contains(key)) layer[key] = 1;
      }
    }
    return json{{"model", {{"type", "layers"}, {"layers", json::array({layer})}}}};
  });
  CHECK(precisions().names() == std::vector<std::string>{"fp32", "tf32", "bf16", "fp16", "fp64"});
  CHECK(cuda_graph_modes().names() == std::vector<std::string>{"auto", "on", "off"});
  CHECK(std::string(model_types().name(ModelType::kLayers)) == "layers");
}

TEST_CASE("config show's values are resolved: pooling stride, one-cycle peak", "[config]") {
  const dltrain::config::Config c = parse(
      json::parse(R"({"model": {"layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3},
                                            {"type": "maxpool2d", "kernel_size": 2}, {"type": "linear", "out_features": 10}]},
                      "train": {"optimizer": {"name": "sgd", "lr": 0.05}, "scheduler": {"name": "onecycle"}}})"),
      "x");
  const json j = dltrain::config::to_json(c);
  CHECK(j["model"]["layers"][0]["stride"] == 1);
  CHECK(j["model"]["layers"][1]["stride"] == 2);
  CHECK(j["train"]["scheduler"]["max_lr"] == 0.05);
  CHECK(j["train"]["optimizer"]["momentum"] == 0.0);  // sgd's row: lr 0.01 given as 0.05, momentum by default
}
