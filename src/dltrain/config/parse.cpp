// JSON <-> Config in one place. One visit() per struct lists its fields once; a Reader walks them to
// parse and validate (collecting every problem with its JSON path), a Writer walks them to serialise.
#include <algorithm>
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
Check<std::string> one_of(const std::vector<std::string>& names) {
  return [&names](const std::string& v) {
    for (const auto& n : names) {
      if (n == v) return std::string();
    }
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    const std::string guess = did_you_mean(v, names);
    return "unknown name '" + v + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)") + "; known: " + known;
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

const char* expected(const int64_t&) { return "an integer"; }
const char* expected(const double&) { return "a number"; }
const char* expected(const bool&) { return "true or false"; }
const char* expected(const std::string&) { return "a string"; }
const char* expected(const std::vector<int64_t>&) { return "a list of integers"; }
const char* expected(const std::array<double, 2>&) { return "a list of two numbers"; }

struct Problems {
  std::vector<std::string> lines;
  void add(const std::string& path, const std::string& message) { lines.push_back(path + ": " + message); }
};

class Reader {
 public:
  static constexpr bool kReading = true;

  Reader(const json& obj, std::string path, Problems& problems)
      : obj_(obj), path_(std::move(path)), problems_(problems) {}

  template <class T>
  void field(const std::string& key, T& value, const Check<T>& check = {}) {
    known_.push_back(key);
    auto it = obj_.find(key);
    if (it == obj_.end()) return;
    if (!convert(*it, value)) {
      problems_.add(path_ + "/" + key, std::string("expected ") + expected(value) + " (got " + describe(*it) + ")");
      return;
    }
    if (check) {
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
  std::vector<std::string> known_;
};

class Writer {
 public:
  static constexpr bool kReading = false;
  json out = json::object();

  template <class T>
  void field(const std::string& key, T& value, const Check<T>& = {}) {
    out[key] = value;
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

bool one_of_names(const std::string& name, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (name == n) return true;
  }
  return false;
}

OptimizerConfig optimizer_defaults(const std::string& name) {
  OptimizerConfig c;
  c.name = name;
  if (name == "sgd") c.lr = 0.01;
  if (name == "adamw") c.weight_decay = 0.01;
  if (name == "rmsprop") c.lr = 0.01;
  if (name == "adagrad") c.lr = 0.01, c.eps = 1e-10;
  if (name == "adadelta") c.lr = 1.0, c.eps = 1e-6;
  return c;
}

SchedulerConfig scheduler_defaults(const std::string& name) {
  SchedulerConfig c;
  c.name = name;
  if (name == "exponential") c.gamma = 0.95;
  return c;
}

template <class V>
void visit(V& v, RunConfig& c) {
  v.field("name", c.name, not_empty());
  v.field("seed", c.seed, at_least<int64_t>(0));
  v.field("output_dir", c.output_dir, not_empty());
}

template <class V>
void visit(V& v, DataConfig& c) {
  v.field("dataset", c.dataset, one_of(kDatasets));
  v.field("root", c.root);
  v.field("val_split", c.val_split, in_range(0.0, 0.9, true));
  v.field("limit_train", c.limit_train, at_least<int64_t>(0));
}

template <class V>
void visit(V& v, LayerSpec& c) {
  v.field("type", c.type, one_of(kLayerTypes));
  const std::string& t = c.type;
  if (t == "linear") v.field("out_features", c.out_features, greater_than<int64_t>(0));
  if (t == "conv2d") v.field("out_channels", c.out_channels, greater_than<int64_t>(0));
  if (one_of_names(t, {"conv2d", "maxpool2d", "avgpool2d"})) {
    v.field("kernel_size", c.kernel_size, greater_than<int64_t>(0));
    v.field("stride", c.stride, at_least<int64_t>(0));
    v.field("padding", c.padding, at_least<int64_t>(0));
  }
  if (one_of_names(t, {"linear", "conv2d"})) v.field("bias", c.bias);
  if (t == "dropout") v.field("p", c.p, in_range(0.0, 1.0, false));
  if (t == "leaky_relu") v.field("negative_slope", c.negative_slope);
}

template <class V>
void visit(V& v, ModelConfig& c) {
  if constexpr (V::kReading) {
    if (v.has("layers") && !v.has("type")) c.type = "layers";
  }
  v.field("type", c.type, one_of(std::vector<std::string>{"mlp", "layers"}));
  if (c.type == "mlp") {
    v.field("hidden", c.hidden);
    v.field("activation", c.activation, one_of(kActivations));
    v.field("dropout", c.dropout, in_range(0.0, 1.0, false));
  } else {
    v.list("layers", c.layers);
  }
}

template <class V>
void visit(V& v, OptimizerConfig& c) {
  v.field("name", c.name, one_of(kOptimizers));
  if constexpr (V::kReading) c = optimizer_defaults(c.name);
  const std::string& n = c.name;
  v.field("lr", c.lr, greater_than(0.0));
  v.field("weight_decay", c.weight_decay, at_least(0.0));
  if (one_of_names(n, {"sgd", "rmsprop"})) v.field("momentum", c.momentum, in_range(0.0, 1.0, false));
  if (n == "sgd") v.field("nesterov", c.nesterov);
  if (one_of_names(n, {"adam", "adamw"})) {
    v.field("betas", c.betas, Check<std::array<double, 2>>([](const std::array<double, 2>& b) {
              return b[0] >= 0 && b[0] < 1 && b[1] >= 0 && b[1] < 1 ? "" : "each beta must be in [0, 1)";
            }));
    v.field("amsgrad", c.amsgrad);
  }
  if (n != "sgd") v.field("eps", c.eps, greater_than(0.0));
  if (n == "rmsprop") v.field("alpha", c.alpha, in_range(0.0, 1.0, false));
  if (n == "adadelta") v.field("rho", c.rho, in_range(0.0, 1.0, false));
  if (n == "adagrad") v.field("lr_decay", c.lr_decay, at_least(0.0));
}

template <class V>
void visit(V& v, SchedulerConfig& c) {
  v.field("name", c.name, one_of(kSchedulers));
  if constexpr (V::kReading) c = scheduler_defaults(c.name);
  const std::string& n = c.name;
  if (n == "step") v.field("step_size", c.step_size, greater_than<int64_t>(0));
  if (n == "multistep") v.field("milestones", c.milestones);
  if (one_of_names(n, {"step", "multistep", "exponential"})) v.field("gamma", c.gamma, greater_than(0.0));
  if (n == "cosine") {
    v.field("warmup_epochs", c.warmup_epochs, at_least(0.0));
    v.field("min_lr", c.min_lr, at_least(0.0));
  }
  if (n == "onecycle") {
    v.field("max_lr", c.max_lr, at_least(0.0));
    v.field("pct_start", c.pct_start, in_range(0.0, 1.0, false));
    v.field("div_factor", c.div_factor, greater_than(0.0));
    v.field("final_div_factor", c.final_div_factor, greater_than(0.0));
  }
}

template <class V>
void visit(V& v, EarlyStoppingConfig& c) {
  v.field("patience", c.patience, at_least<int64_t>(0));
  v.field("min_delta", c.min_delta, at_least(0.0));
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
  v.field("precision", c.precision, one_of(kPrecisions));
  v.field("cuda_graphs", c.cuda_graphs, one_of({"auto", "on", "off"}));
  v.field("deterministic", c.deterministic);
}

template <class V>
void visit(V& v, EvalConfig& c) {
  v.field("batch_size", c.batch_size, greater_than<int64_t>(0));
}

template <class V>
void visit(V& v, Config& c) {
  v.object("run", c.run);
  v.object("data", c.data);
  v.object("model", c.model);
  v.object("train", c.train);
  v.object("eval", c.eval);
}

// Rules that involve more than one field.
void check_consistency(const Config& c, Problems& problems) {
  if (c.model.type == "layers" && c.model.layers.empty()) {
    problems.add("/model/layers", "a 'layers' model needs at least one layer");
  }
  for (size_t i = 0; i < c.model.hidden.size(); ++i) {
    if (c.model.type == "mlp" && c.model.hidden[i] <= 0) {
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
  if (c.train.scheduler.name == "multistep" && ms.empty()) {
    problems.add("/train/scheduler/milestones", "multistep needs at least one milestone epoch");
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
