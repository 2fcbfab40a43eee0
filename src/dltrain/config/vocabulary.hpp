// The config's vocabularies, one table each: optimizers, schedulers, precisions, layer types, model types, CUDA graph
// modes. A row gives a word's name, its enum value, a help text and the keys it takes with their defaults. The
// parser reads names and keys from these tables, `config show` and `--help` print them, and consumers switch on the
// enum values, so a word that is not in its table never reaches a consumer. (Datasets have their own table in
// data/datasets.cpp, because a row there holds files, checksums and mirrors.)
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dltrain::config {

enum class Optimizer { kSgd, kAdam, kAdamW, kRmsProp, kAdagrad, kAdadelta };
enum class Scheduler { kConstant, kStep, kMultiStep, kExponential, kCosine, kOneCycle };
enum class Precision { kFp32, kTf32, kBf16, kFp16, kFp64 };
enum class LayerType {
  kLinear, kConv2d, kMaxPool2d, kAvgPool2d, kBatchNorm1d, kBatchNorm2d, kDropout, kFlatten,
  kReLU, kGELU, kTanh, kSigmoid, kLeakyReLU,
};
enum class ModelType { kMlp, kLayers };
enum class CudaGraphs { kAuto, kOn, kOff };
enum class DistBackend { kAuto, kGloo, kNccl };

template <class E>
struct Term {
  const char* name;
  E value;
  const char* help;
  // The keys this word takes besides the name, with their defaults (e.g. sgd: lr 0.01, momentum 0, ...); null for a
  // key without a default, which the config must give (a linear layer's out_features).
  nlohmann::json keys = nlohmann::json::object();
};

template <class E>
class Vocabulary {
 public:
  Vocabulary(const char* what, std::vector<Term<E>> terms) : what_(what), terms_(std::move(terms)) {}
  // The row named `name`, or null.
  const Term<E>* find(const std::string& name) const {
    for (const auto& t : terms_) {
      if (name == t.name) return &t;
    }
    return nullptr;
  }
  // The row of `value`; every enum value has one (tests/unit/test_config.cpp checks it).
  const Term<E>& at(E value) const {
    for (const auto& t : terms_) {
      if (t.value == value) return t;
    }
    return terms_.front();
  }
  const char* name(E value) const { return at(value).name; }
  bool takes(E value, const std::string& key) const { return at(value).keys.contains(key); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& t : terms_) out.emplace_back(t.name);
    return out;
  }
  // "sgd, adam, adamw, ..."
  std::string joined() const {
    std::string out;
    for (const auto& t : terms_) out += (out.empty() ? "" : ", ") + std::string(t.name);
    return out;
  }
  const char* what() const { return what_; }
  const std::vector<Term<E>>& terms() const { return terms_; }

 private:
  const char* what_;
  std::vector<Term<E>> terms_;
};

const Vocabulary<Optimizer>& optimizers();
const Vocabulary<Scheduler>& schedulers();
const Vocabulary<Precision>& precisions();
const Vocabulary<LayerType>& layer_types();
const Vocabulary<ModelType>& model_types();
const Vocabulary<CudaGraphs>& cuda_graph_modes();
const Vocabulary<DistBackend>& distributed_backends();

// Whether a layer type is an activation (what model.activation of an MLP may name).
bool is_activation(LayerType type);

// The dataset names, from the dataset table (data/datasets.cpp).
std::vector<std::string> dataset_names();
// Whether a horizontal flip changes the class of the dataset's images (digits), from the dataset table.
bool flips_change_class(const std::string& dataset);

}  // namespace dltrain::config
