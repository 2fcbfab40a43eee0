// JSON <-> Config in one place. One visit() per struct lists its fields once; a Reader walks them to
// parse and validate (collecting every problem with its JSON path), a Writer walks them to serialise. Which keys
// an optimizer, scheduler, layer or model type takes, and their defaults, come from its vocabulary table
// (vocabulary.hpp): visit() reads a key only when the table lists it, and reading starts from the table's defaults.
#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"

namespace dltrain::config {
namespace {

using nlohmann::json;

// A check returns an empty string when the value is valid, else what is wrong with it.
template <class T>
using Check = std::function<std::string(const T&)>;

template <class T>
Check<T> greater_than(T bound) {
  return [bound](const T& v) { return v > bound ? "" : "must be > " + json(bound).dump(); };
}
template <class T>
Check<T> at_least(T bound) {
  return [bound](const T& v) { return v >= bound ? "" : "must be >= " + json(bound).dump(); };
}
Check<double> in_range(double lo, double hi, bool hi_inclusive) {
  return [=](const double& v) {
    const bool ok = v >= lo && (hi_inclusive ? v <= hi : v < hi);
    return ok ? std::string() : "must be in [" + json(lo).dump() + ", " + json(hi).dump() + (hi_inclusive ? "]" : ")");
  };
}
// "unknown name 'adamm' (did you mean 'adam'?); known: sgd, adam, ..."
std::string unknown_name(const std::string& v, const std::vector<std::string>& names) {
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  const std::string guess = did_you_mean(v, names);
  return "unknown name '" + v + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)") + "; known: " + known;
}
Check<std::string> one_of(std::vector<std::string> names) {
  return [names](const std::string& v) {
    for (const auto& n : names) {
      if (n == v) return std::string();
    }
    return unknown_name(v, names);
  };
}
Check<LayerType> activation_type() {
  return [](const LayerType& t) {
    if (is_activation(t)) return std::string();
    std::string activations;
    for (const auto& term : layer_types().terms()) {
      if (is_activation(term.value)) activations += (activations.empty() ? "" : ", ") + std::string(term.name);
    }
    return std::string("'") + layer_types().name(t) + "' is not an activation; use one of " + activations;
  };
}
// data.val_split: a count of images (an integer >= 1) or a fraction in [0, 0.9].
Check<double> count_or_fraction() {
  return [](const double& v) {
    if ((v >= 0 && v <= 0.9) || (v >= 1 && v == std::floor(v) && v < 1e9)) return std::string();
    return std::string("must be a fraction in [0, 0.9] or a whole number of images >= 1");
  };
}
Check<std::string> not_empty() {
  return [](const std::string& v) { return v.empty() ? "must not be empty" : ""; };
}
Check<std::string> device_name() {
  return [](const std::string& v) {
    if (v == "auto" || v == "cpu" || v == "cuda") return std::string();
    if (v.rfind("cuda:", 0) == 0 && v.size() > 5 && v.find_first_not_of("0123456789", 5) == std::string::npos) {
      return std::string();
    }
    return "unknown device '" + v + "'; use auto, cpu, cuda or cuda:N";
  };
}

Check<std::string> interval() {
  return [](const std::string& v) {
    Interval parsed;
    return parse_interval(v, parsed) ? std::string() : "'" + v + "' is not an interval; write e.g. \"1 epoch\" or \"500 steps\"";
  };
}

// Nesting depth of `j`, counted no further than `limit` levels so that this recursion stays shallow.
size_t depth_up_to(const json& j, size_t limit) {
  if (limit == 0 || !j.is_structured()) return 0;
  size_t deepest = 0;
  for (const auto& e : j) deepest = std::max(deepest, depth_up_to(e, limit - 1));
  return deepest + 1;
}

std::string describe(const json& j) {
  // dump() recurses once per nesting level: a deeply nested value ([[[[...) would overflow the stack.
  constexpr size_t kMaxDumpDepth = 32;
  if (depth_up_to(j, kMaxDumpDepth) >= kMaxDumpDepth) return j.is_array() ? "[...]" : "{...}";
  std::string text = j.dump();
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

// Converts a JSON value to T; returns false (leaving `out` alone) when the JSON type does not fit.
bool convert(const json& j, int64_t& out) {
  if (!j.is_number_integer()) return false;
  out = j.get<int64_t>();
  return true;
}
bool convert(const json& j, double& out) {
  if (!j.is_number()) return false;
  out = j.get<double>();
  return true;
}
bool convert(const json& j, bool& out) {
  if (!j.is_boolean()) return false;
  out = j.get<bool>();
  return true;
}
bool convert(const json& j, std::string& out) {
  if (!j.is_string()) return false;
  out = j.get<std::string>();
  return true;
}
bool convert(const json& j, std::vector<int64_t>& out) {
  if (!j.is_array()) return false;
  for (const auto& e : j) {
    if (!e.is_number_integer()) return false;
  }
  out = j.get<std::vector<int64_t>>();
  return true;
}
bool convert(const json& j, std::array<double, 2>& out) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number() || !j[1].is_number()) return false;
  out = {j[0].get<double>(), j[1].get<double>()};
  return true;
}

// The vocabulary of each enum the config holds.
const Vocabulary<Optimizer>& vocabulary_of(Optimizer) { return optimizers(); }
const Vocabulary<Scheduler>& vocabulary_of(Scheduler) { return schedulers(); }
const Vocabulary<Precision>& vocabulary_of(Precision) { return precisions(); }
const Vocabulary<LayerType>& vocabulary_of(LayerType) { return layer_types(); }
const Vocabulary<ModelType>& vocabulary_of(ModelType) { return model_types(); }
const Vocabulary<CudaGraphs>& vocabulary_of(CudaGraphs) { return cuda_graph_modes(); }
const Vocabulary<DistBackend>& vocabulary_of(DistBackend) { return distributed_backends(); }

template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
bool convert(const json& j, E& out) {
  if (!j.is_string()) return false;
  const auto* term = vocabulary_of(E{}).find(j.get<std::string>());
  if (term == nullptr) return false;
  out = term->value;
  return true;
}

const char* expected(const int64_t&) { return "an integer"; }
const char* expected(const double&) { return "a number"; }
const char* expected(const bool&) { return "true or false"; }
const char* expected(const std::string&) { return "a string"; }
const char* expected(const std::vector<int64_t>&) { return "a list of integers"; }
const char* expected(const std::array<double, 2>&) { return "a list of two numbers"; }

// What is wrong with `j` for a field of type T.
template <class T>
std::string mismatch(const json& j, const T& value) {
  if constexpr (std::is_enum_v<T>) {
    if (j.is_string()) return unknown_name(j.get<std::string>(), vocabulary_of(value).names());
    return std::string("expected a ") + vocabulary_of(value).what() + " name: " + vocabulary_of(value).joined() +
           " (got " + describe(j) + ")";
  } else {
    return std::string("expected ") + expected(value) + " (got " + describe(j) + ")";
  }
}

struct Problems {
  std::vector<std::string> lines;
  void add(const std::string& path, const std::string& message) { lines.push_back(path + ": " + message); }
};

class Reader {
 public:
  static constexpr bool kReading = true;

  // `defaults`: `obj` is a vocabulary row's keys, trusted: no checks, and null (a required key) is skipped.
  Reader(const json& obj, std::string path, Problems& problems, bool defaults = false)
      : obj_(obj), path_(std::move(path)), problems_(problems), defaults_(defaults) {}

  template <class T>
  void field(const std::string& key, T& value, const Check<T>& check = {}) {
    known_.push_back(key);
    auto it = obj_.find(key);
    if (it == obj_.end() || (defaults_ && it->is_null())) return;
    if (!convert(*it, value)) {
      problems_.add(path_ + "/" + key, mismatch(*it, value));
      return;
    }
    if (check && !defaults_) {
      const std::string problem = check(value);
      if (!problem.empty()) problems_.add(path_ + "/" + key, problem + " (got " + describe(*it) + ")");
    }
  }

  template <class T>
  void object(const std::string& key, T& value) {
    known_.push_back(key);
    auto it = obj_.find(key);
    if (it == obj_.end()) return;
    if (!it->is_object()) {
      problems_.add(path_ + "/" + key, "expected an object (got " + describe(*it) + ")");
      return;
    }
    Reader sub(*it, path_ + "/" + key, problems_);
    visit(sub, value);
    sub.finish();
  }

  template <class T>
  void list(const std::string& key, std::vector<T>& values) {
    known_.push_back(key);
    auto it = obj_.find(key);
    if (it == obj_.end()) return;
    if (!it->is_array()) {
      problems_.add(path_ + "/" + key, "expected a list of objects (got " + describe(*it) + ")");
      return;
    }
    values.clear();
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string item_path = path_ + "/" + key + "/" + std::to_string(i);
      values.emplace_back();
      if (!(*it)[i].is_object()) {
        problems_.add(item_path, "expected an object (got " + describe((*it)[i]) + ")");
        continue;
      }
      Reader sub((*it)[i], item_path, problems_);
      visit(sub, values.back());
      sub.finish();
    }
  }

  bool has(const std::string& key) const { return obj_.contains(key); }
  const std::string& path() const { return path_; }
  Problems& problems() { return problems_; }

  // Every key nobody asked for is an error, with a did-you-mean among the keys that were.
  void finish() {
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
      if (std::find(known_.begin(), known_.end(), it.key()) != known_.end()) continue;
      const std::string guess = did_you_mean(it.key(), known_);
      std::string message = "unknown key '" + it.key() + "'";
      message += guess.empty() ? "" : " (did you mean '" + guess + "'?)";
      if (guess.empty() && !known_.empty()) {
        std::string keys;
        for (const auto& k : known_) keys += (keys.empty() ? "" : ", ") + k;
        message += "; allowed here: " + keys;
      }
      problems_.add(path_ + "/" + it.key(), message);
    }
  }

 private:
  const json& obj_;
  std::string path_;
  Problems& problems_;
  bool defaults_;
  std::vector<std::string> known_;
};

class Writer {
 public:
  static constexpr bool kReading = false;
  json out = json::object();

  template <class T>
  void field(const std::string& key, T& value, const Check<T>& = {}) {
    if constexpr (std::is_enum_v<T>) {
      out[key] = vocabulary_of(value).name(value);
    } else {
      out[key] = value;
    }
  }
  template <class T>
  void object(const std::string& key, T& value) {
    Writer sub;
    visit(sub, value);
    out[key] = sub.out;
  }
  template <class T>
  void list(const std::string& key, std::vector<T>& values) {
    json items = json::array();
    for (auto& v : values) {
      Writer sub;
      visit(sub, v);
      items.push_back(sub.out);
    }
    out[key] = items;
  }
  bool has(const std::string&) const { return true; }
};

// Starts `c` from the defaults its vocabulary row lists (`keys`), read through the same visit_keys() as the config.
template <class T>
void apply_defaults(T& c, const json& keys, const std::string& path, Problems& problems) {
  Reader defaults(keys, path + "(defaults)", problems, true);
  visit_keys(defaults, c);
  defaults.finish();  // a table key that visit_keys does not read is a bug, reported here
}

template <class V>
void visit(V& v, RunConfig& c) {
  v.field("name", c.name, not_empty());
  v.field("seed", c.seed, at_least<int64_t>(0));
  v.field("output_dir", c.output_dir, not_empty());
}

template <class V>
void visit(V& v, AugmentConfig& c) {
  v.field("translate", c.translate, at_least<int64_t>(0));
  v.field("rotate", c.rotate, in_range(0.0, 180.0, true));
  v.field("scale", c.scale, in_range(0.0, 1.0, false));
  v.field("shear", c.shear, in_range(0.0, 60.0, true));
  v.field("elastic", c.elastic, at_least(0.0));
  v.field("erase", c.erase, in_range(0.0, 1.0, true));
  v.field("erase_area", c.erase_area, Check<std::array<double, 2>>([](const std::array<double, 2>& a) {
            return a[0] > 0 && a[0] <= a[1] && a[1] <= 1 ? "" : "must be [min, max] with 0 < min <= max <= 1";
          }));
  v.field("hflip", c.hflip, in_range(0.0, 1.0, true));
  v.field("force_hflip", c.force_hflip);
}

template <class V>
void visit(V& v, DataConfig& c) {
  v.field("dataset", c.dataset, one_of(dataset_names()));
  v.field("root", c.root);
  v.field("val_split", c.val_split, count_or_fraction());
  v.field("limit_train", c.limit_train, at_least<int64_t>(0));
  v.field("image_size", c.image_size, Check<std::vector<int64_t>>([](const std::vector<int64_t>& s) {
            const bool ok = s.empty() || (s.size() == 3 && (s[0] == 1 || s[0] == 3) && s[1] >= 1 && s[1] <= 4096 &&
                                          s[2] >= 1 && s[2] <= 4096);
            return ok ? "" : "must be [channels, height, width] with channels 1 or 3 and sides 1..4096";
          }));
  v.field("test_root", c.test_root);
  v.field("test_split", c.test_split, count_or_fraction());
  v.field("split_seed", c.split_seed, at_least<int64_t>(0));
  v.object("augment", c.augment);
}

template <class V>
void visit_keys(V& v, LayerSpec& c) {
  const auto takes = [&c](const char* key) { return layer_types().takes(c.type, key); };
  if (takes("out_features")) v.field("out_features", c.out_features, greater_than<int64_t>(0));
  if (takes("out_channels")) v.field("out_channels", c.out_channels, greater_than<int64_t>(0));
  if (takes("kernel_size")) v.field("kernel_size", c.kernel_size, greater_than<int64_t>(0));
  if (takes("stride")) v.field("stride", c.stride, at_least<int64_t>(0));
  if (takes("padding")) v.field("padding", c.padding, at_least<int64_t>(0));
  if (takes("bias")) v.field("bias", c.bias);
  if (takes("p")) v.field("p", c.p, in_range(0.0, 1.0, false));
  if (takes("negative_slope")) v.field("negative_slope", c.negative_slope);
}

template <class V>
void visit_keys(V& v, ModelConfig& c) {
  const auto takes = [&c](const char* key) { return model_types().takes(c.type, key); };
  if (takes("hidden")) v.field("hidden", c.hidden);
  if (takes("activation")) v.field("activation", c.activation, activation_type());
  if (takes("dropout")) v.field("dropout", c.dropout, in_range(0.0, 1.0, false));
  if (takes("layers")) v.list("layers", c.layers);
}

template <class V>
void visit_keys(V& v, OptimizerConfig& c) {
  const auto takes = [&c](const char* key) { return optimizers().takes(c.name, key); };
  v.field("lr", c.lr, greater_than(0.0));
  v.field("weight_decay", c.weight_decay, at_least(0.0));
  if (takes("momentum")) v.field("momentum", c.momentum, in_range(0.0, 1.0, false));
  if (takes("nesterov")) v.field("nesterov", c.nesterov);
  if (takes("betas")) {
    v.field("betas", c.betas, Check<std::array<double, 2>>([](const std::array<double, 2>& b) {
              return b[0] >= 0 && b[0] < 1 && b[1] >= 0 && b[1] < 1 ? "" : "each beta must be in [0, 1)";
            }));
  }
  if (takes("amsgrad")) v.field("amsgrad", c.amsgrad);
  if (takes("eps")) v.field("eps", c.eps, greater_than(0.0));
  if (takes("alpha")) v.field("alpha", c.alpha, in_range(0.0, 1.0, false));
  if (takes("rho")) v.field("rho", c.rho, in_range(0.0, 1.0, false));
  if (takes("lr_decay")) v.field("lr_decay", c.lr_decay, at_least(0.0));
}

template <class V>
void visit_keys(V& v, SchedulerConfig& c) {
  const auto takes = [&c](const char* key) { return schedulers().takes(c.name, key); };
  if (takes("step_size")) v.field("step_size", c.step_size, greater_than<int64_t>(0));
  if (takes("milestones")) v.field("milestones", c.milestones);
  if (takes("gamma")) v.field("gamma", c.gamma, greater_than(0.0));
  if (takes("warmup_epochs")) v.field("warmup_epochs", c.warmup_epochs, at_least(0.0));
  if (takes("min_lr")) v.field("min_lr", c.min_lr, at_least(0.0));
  if (takes("max_lr")) v.field("max_lr", c.max_lr, at_least(0.0));
  if (takes("pct_start")) v.field("pct_start", c.pct_start, in_range(0.0, 1.0, false));
  if (takes("div_factor")) v.field("div_factor", c.div_factor, greater_than(0.0));
  if (takes("final_div_factor")) v.field("final_div_factor", c.final_div_factor, greater_than(0.0));
  if (takes("horizon_epochs")) v.field("horizon_epochs", c.horizon_epochs, at_least<int64_t>(0));
}

// A struct named by a vocabulary word: the word first ("name" or "type"), then, when reading, the row's defaults,
// then the keys the word takes.
template <class V, class T, class E>
void visit_named(V& v, T& c, const char* word_key, E& word) {
  v.field(word_key, word);
  const json& keys = vocabulary_of(word).at(word).keys;
  if constexpr (V::kReading) apply_defaults(c, keys, v.path(), v.problems());
  visit_keys(v, c);
  if constexpr (V::kReading) {
    for (auto it = keys.begin(); it != keys.end(); ++it) {  // null in the table: no default, the config must say
      if (it->is_null() && !v.has(it.key())) {
        v.problems().add(v.path() + "/" + it.key(), std::string("missing: a ") + vocabulary_of(word).name(word) + " " +
                                                        vocabulary_of(word).what() + " needs it");
      }
    }
  }
}

template <class V>
void visit(V& v, LayerSpec& c) { visit_named(v, c, "type", c.type); }

template <class V>
void visit(V& v, ModelConfig& c) {
  if constexpr (V::kReading) {
    if (v.has("layers") && !v.has("type")) c.type = ModelType::kLayers;
  }
  visit_named(v, c, "type", c.type);
}

template <class V>
void visit(V& v, OptimizerConfig& c) { visit_named(v, c, "name", c.name); }

template <class V>
void visit(V& v, SchedulerConfig& c) { visit_named(v, c, "name", c.name); }

template <class V>
void visit(V& v, EarlyStoppingConfig& c) {
  v.field("patience", c.patience, at_least<int64_t>(0));
  v.field("min_delta", c.min_delta, at_least(0.0));
}

template <class V>
void visit(V& v, DistributedConfig& c) {
  v.field("backend", c.backend);
  v.field("timeout", c.timeout, in_range(1.0, 86400.0, true));
  v.field("overlap", c.overlap);
}

template <class V>
void visit(V& v, EmaConfig& c) {
  v.field("decay", c.decay, in_range(0.0, 1.0, false));
}

template <class V>
void visit(V& v, TrainConfig& c) {
  v.field("epochs", c.epochs, greater_than<int64_t>(0));
  v.field("batch_size", c.batch_size, greater_than<int64_t>(0));
  v.object("optimizer", c.optimizer);
  v.object("scheduler", c.scheduler);
  v.field("label_smoothing", c.label_smoothing, in_range(0.0, 1.0, false));
  v.field("grad_clip", c.grad_clip, at_least(0.0));
  v.object("early_stopping", c.early_stopping);
  v.field("log_interval", c.log_interval, greater_than<int64_t>(0));
  v.field("checkpoint_every", c.checkpoint_every, interval());
  v.field("device", c.device, device_name());
  v.field("threads", c.threads, at_least<int64_t>(0));
  v.field("precision", c.precision);
  v.field("cuda_graphs", c.cuda_graphs);
  v.field("deterministic", c.deterministic);
  v.object("distributed", c.distributed);
  v.object("ema", c.ema);
}

template <class V>
void visit(V& v, EvalConfig& c) {
  v.field("batch_size", c.batch_size, greater_than<int64_t>(0));
  v.field("every", c.every, greater_than<int64_t>(0));
  v.field("test_during_training", c.test_during_training);
  v.field("tta", c.tta);
}

template <class V>
void visit(V& v, Config& c) {
  v.object("run", c.run);
  v.object("data", c.data);
  v.object("model", c.model);
  v.object("train", c.train);
  v.object("eval", c.eval);
}

// data.image_size, test_root, test_split and split_seed belong to image_folder, which needs its folder, its image
// size, and one way to get test images.
void check_image_folder(const DataConfig& d, Problems& problems) {
  if (d.dataset != "image_folder") {
    const std::vector<std::pair<const char*, bool>> set = {{"image_size", !d.image_size.empty()},
                                                           {"test_root", !d.test_root.empty()},
                                                           {"test_split", d.test_split > 0},
                                                           {"split_seed", d.split_seed != 0}};
    for (const auto& [key, is_set] : set) {
      if (is_set) problems.add(std::string("/data/") + key, "only data.dataset image_folder reads it; remove it");
    }
    return;
  }
  if (d.root.empty()) problems.add("/data/root", "image_folder needs data.root: a folder of class subfolders of images");
  if (d.image_size.empty()) {
    problems.add("/data/image_size", "image_folder needs the size every image is brought to, e.g. [1, 28, 28] or [3, 32, 32]");
  }
  if (d.test_root.empty() == (d.test_split <= 0)) {
    problems.add(d.test_root.empty() ? "/data/test_split" : "/data/test_root",
                 "image_folder takes its test images from exactly one of data.test_root (a folder with the same class "
                 "subfolders) and data.test_split (images held out of data.root, e.g. 0.2)");
  }
}

// Rules that involve more than one field.
void check_consistency(const Config& c, Problems& problems) {
  if (c.model.type == ModelType::kLayers && c.model.layers.empty()) {
    problems.add("/model/layers", "a 'layers' model needs at least one layer");
  }
  for (size_t i = 0; i < c.model.hidden.size(); ++i) {
    if (c.model.type == ModelType::kMlp && c.model.hidden[i] <= 0) {
      problems.add("/model/hidden/" + std::to_string(i), "must be > 0 (got " + std::to_string(c.model.hidden[i]) + ")");
    }
  }
  const auto& ms = c.train.scheduler.milestones;
  for (size_t i = 0; i < ms.size(); ++i) {
    if (ms[i] <= 0 || (i > 0 && ms[i] <= ms[i - 1])) {
      problems.add("/train/scheduler/milestones", "must be positive epochs in increasing order");
      break;
    }
  }
  if (c.train.scheduler.name == Scheduler::kMultiStep && ms.empty()) {
    problems.add("/train/scheduler/milestones",
                 std::string(schedulers().name(Scheduler::kMultiStep)) + " needs at least one milestone epoch");
  }
  if (c.train.optimizer.nesterov && c.train.optimizer.momentum <= 0) {
    problems.add("/train/optimizer/nesterov", "Nesterov momentum needs train.optimizer.momentum > 0 (as in PyTorch)");
  }
  if (c.train.early_stopping.patience > 0 && c.data.val_split <= 0) {
    problems.add("/train/early_stopping/patience",
                 "early stopping needs a validation split: set data.val_split (e.g. 5000), so that the test split "
                 "never decides when training stops");
  }
  check_image_folder(c.data, problems);
  if (c.data.augment.hflip > 0 && !c.data.augment.force_hflip && flips_change_class(c.data.dataset)) {
    problems.add("/data/augment/hflip", c.data.dataset + " holds digits, which a flip changes (a flipped 2 is not a 2); "
                                        "remove it, or set data.augment.force_hflip to true");
  }
}

// Defaults that depend on other values, written out so that `config show` and config.json show what a run uses.
void resolve(Config& c) {
  for (LayerSpec& layer : c.model.layers) {
    if (layer.stride == 0) layer.stride = layer.type == LayerType::kConv2d ? 1 : layer.kernel_size;
  }
  if (c.train.scheduler.name == Scheduler::kOneCycle && c.train.scheduler.max_lr == 0) {
    c.train.scheduler.max_lr = c.train.optimizer.lr;
  }
}

}  // namespace

bool parse_interval(const std::string& text, Interval& out) {
  std::istringstream in(text);
  int64_t count = 0;
  std::string unit, rest;
  if (!(in >> count) || !(in >> unit) || (in >> rest) || count <= 0) return false;
  if (unit == "epoch" || unit == "epochs") {
    out = {count, false};
  } else if (unit == "step" || unit == "steps") {
    out = {count, true};
  } else {
    return false;
  }
  return true;
}

Config parse(const json& doc, const std::string& source) {
  Problems problems;
  Config config;
  if (!doc.is_object()) {
    throw ConfigError(source + ": the config must be a JSON object (got " + describe(doc) + ")",
                      "see configs/mnist_cnn.json for an example");
  }
  Reader reader(doc, "", problems);
  visit(reader, config);
  reader.finish();
  if (problems.lines.empty()) check_consistency(config, problems);
  if (problems.lines.empty()) resolve(config);
  if (!problems.lines.empty()) {
    std::string message;
    for (const auto& line : problems.lines) message += (message.empty() ? "" : "\n") + source + ": " + line;
    // Not `dltrain config show`: it parses the same document and would fail the same way.
    throw ConfigError(message, problems.lines.size() == 1
                                   ? "fix the value above; README.md, \"Config reference\", lists every key"
                                   : "fix the " + std::to_string(problems.lines.size()) +
                                         " problems above; README.md, \"Config reference\", lists every key");
  }
  return config;
}

json to_json(const Config& config) {
  Config copy = config;
  Writer writer;
  visit(writer, copy);
  return writer.out;
}

}  // namespace dltrain::config
