// The sweep's plan (sweep.hpp): --grid parsing, the combinations, the seeds, run names, validation, sweep.json.
#include <algorithm>
#include <cctype>
#include <set>

#include "dltrain/config/config.hpp"
#include "dltrain/core/error.hpp"
#include "dltrain/core/format.hpp"
#include "dltrain/sweep/sweep.hpp"

namespace dltrain::sweep {
namespace {

const char* const kGridHint = "write --grid key.path=value1,value2 (e.g. --grid train.optimizer.lr=0.01,0.003)";

std::string trim(const std::string& s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// Splits at the commas that are not inside [], {} or a JSON string; each value trimmed.
std::vector<std::string> split_values(const std::string& text) {
  std::vector<std::string> out(1);
  int depth = 0;
  bool quoted = false, escaped = false;
  for (const char ch : text) {
    if (quoted) {
      quoted = escaped || ch != '"';
      escaped = !escaped && ch == '\\';
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == '[' || ch == '{') {
      ++depth;
    } else if (ch == ']' || ch == '}') {
      --depth;
    } else if (ch == ',' && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += ch;
  }
  for (std::string& v : out) v = trim(v);
  return out;
}

// "lr0.01" for "train.optimizer.lr=0.01": the key's last part (with the list and index around a list index:
// "hidden1" for model.hidden.1, "layers0p" for model.layers.0.p) and the value's first 24 characters, those a folder
// name should not hold made '_'.
std::string label_of(const std::string& override_text) {
  const size_t eq = override_text.find('=');
  const std::string value = override_text.substr(eq + 1);
  std::vector<std::string> parts(1);
  for (const char ch : override_text.substr(0, eq)) {
    if (ch == '.') {
      parts.emplace_back();
    } else {
      parts.back() += ch;
    }
  }
  const auto index = [](const std::string& part) {
    const auto digit = [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; };
    return !part.empty() && std::all_of(part.begin(), part.end(), digit);
  };
  size_t i = parts.size() - 1;
  std::string out = parts[i];
  while (i > 0 && (index(parts[i]) || index(parts[i - 1]))) out = parts[--i] + out;
  if (index(parts.back()) && !value.empty() && std::isdigit(static_cast<unsigned char>(value[0]))) out += '_';  // hidden1_64
  for (const char ch : value.substr(0, 24)) {
    const bool safe = std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' || ch == '+';
    out += safe ? ch : '_';
  }
  return out;
}

// The plan's runs: combination by combination, seed by seed.
std::vector<Run> plan_runs(const std::vector<std::vector<std::string>>& combos, const std::vector<int64_t>& seeds,
                           const std::string& base_name) {
  const std::vector<std::string> labels = combination_labels(combos);
  std::vector<Run> runs;
  for (size_t c = 0; c < combos.size(); ++c) {
    for (const int64_t seed : seeds) {
      Run run;
      run.id = static_cast<int64_t>(runs.size()) + 1;
      run.combination = c;
      run.seed = seed;
      run.name = run_name(base_name, labels[c], seed);
      runs.push_back(run);
    }
  }
  return runs;
}

}  // namespace

Axis parse_axis(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos) throw UsageError("--grid " + text + ": expected key.path=value1,value2,...", kGridHint);
  Axis axis{trim(text.substr(0, eq)), split_values(text.substr(eq + 1))};
  if (axis.key.empty()) throw UsageError("--grid " + text + ": the key before '=' is empty", kGridHint);
  for (size_t i = 0; i < axis.values.size(); ++i) {
    if (axis.values[i].empty()) {
      throw UsageError(format("--grid %s: value %zu is empty", text.c_str(), i + 1),
                       "separate the values by single commas, without a trailing one: key=a,b");
    }
    if (std::find(axis.values.begin(), axis.values.begin() + static_cast<long>(i), axis.values[i]) !=
        axis.values.begin() + static_cast<long>(i)) {
      throw UsageError("--grid " + text + ": the value " + axis.values[i] + " is given twice", kGridHint);
    }
  }
  if (axis.key == "run.seed") {
    throw UsageError("--grid " + text + ": the sweep sets run.seed itself", "use --seeds 1,2,3 or --repeat N");
  }
  if (axis.key == "run.name" || axis.key == "run.output_dir") {
    throw UsageError("--grid " + text + ": the sweep sets " + axis.key + " itself",
                     "every run is named after its values and seed, in <sweep dir>/runs; --out sets the sweep's folder");
  }
  return axis;
}

std::vector<std::vector<std::string>> combinations(const std::vector<Axis>& grid) {
  std::set<std::string> keys;
  std::vector<std::vector<std::string>> out{{}};
  for (const Axis& axis : grid) {
    if (!keys.insert(axis.key).second) {
      throw UsageError("--grid " + axis.key + " is given twice", "list all of a key's values in one --grid: key=a,b,c");
    }
    std::vector<std::vector<std::string>> next;
    for (const auto& partial : out) {
      for (const std::string& value : axis.values) {
        next.push_back(partial);
        next.back().push_back(axis.key + "=" + value);
      }
    }
    out = std::move(next);
  }
  return out;
}

std::vector<int64_t> seed_list(const std::vector<int64_t>& seeds, int64_t repeat, int64_t base) {
  if (!seeds.empty() && repeat > 0) throw UsageError("--seeds and --repeat exclude each other", "give one of them");
  for (size_t i = 0; i < seeds.size(); ++i) {
    if (std::find(seeds.begin(), seeds.begin() + static_cast<long>(i), seeds[i]) != seeds.begin() + static_cast<long>(i)) {
      throw UsageError(format("--seeds: the seed %lld is given twice", static_cast<long long>(seeds[i])),
                       "each seed runs once; --repeat N runs N seeds from run.seed on");
    }
  }
  if (!seeds.empty()) return seeds;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < std::max<int64_t>(repeat, 1); ++i) out.push_back(base + i);
  return out;
}

std::string run_name(const std::string& base, const std::string& label, int64_t seed) {
  return base + (label.empty() ? "" : "-" + label) + "-seed" + std::to_string(seed);
}

std::vector<std::string> combination_labels(const std::vector<std::vector<std::string>>& combos) {
  std::vector<std::string> labels;
  for (const auto& combo : combos) {
    std::string label;
    for (const std::string& o : combo) label += (label.empty() ? "" : "-") + label_of(o);
    labels.push_back(label);
  }
  if (std::set<std::string>(labels.begin(), labels.end()).size() < labels.size()) {
    for (size_t c = 0; c < labels.size(); ++c) labels[c] = "c" + std::to_string(c + 1) + "-" + labels[c];
  }
  return labels;
}

std::vector<std::string> run_overrides(const Plan& plan, const Run& run) {
  std::vector<std::string> out = plan.sets;
  const auto& combo = plan.combinations.at(run.combination);
  out.insert(out.end(), combo.begin(), combo.end());
  out.push_back("run.seed=" + std::to_string(run.seed));
  out.push_back("run.name=" + nlohmann::json(run.name).dump());  // a JSON string: "123" stays a name
  return out;
}

Plan make_plan(const Request& request) {
  Plan plan;
  plan.kind = request.kind;
  plan.command_line = request.command_line;
  plan.config_path = std::filesystem::absolute(request.config).lexically_normal();
  plan.sets = request.sets;
  const config::Config base = config::load(request.config, request.sets);
  plan.config = config::to_json(base);
  for (const std::string& text : request.grid) plan.grid.push_back(parse_axis(text));
  plan.combinations = combinations(plan.grid);
  plan.seeds = seed_list(request.seeds, request.repeat, base.run.seed);
  plan.jobs = request.jobs;
  plan.threads = request.threads;
  plan.device = request.device;
  if (!request.data_dir.empty()) plan.data_dir = std::filesystem::absolute(request.data_dir).lexically_normal().string();
  plan.runs = plan_runs(plan.combinations, plan.seeds, base.run.name);
  for (const Run& run : plan.runs) config::load(request.config, run_overrides(plan, run));  // what validate says
  return plan;
}

nlohmann::json plan_json(const Plan& plan) {
  nlohmann::json grid = nlohmann::json::array(), runs = nlohmann::json::array();
  for (const Axis& axis : plan.grid) grid.push_back({{"key", axis.key}, {"values", axis.values}});
  for (const Run& run : plan.runs) {
    runs.push_back({{"id", run.id},
                    {"name", run.name},
                    {"combination", run.combination},
                    {"overrides", plan.combinations.at(run.combination)},
                    {"seed", run.seed},
                    {"run_dir", run.run_dir.empty() ? nlohmann::json() : nlohmann::json(run.run_dir)},
                    {"status", run.status},
                    {"exit_code", run.exit_code ? nlohmann::json(*run.exit_code) : nlohmann::json()}});
  }
  return {{"format", "dltrain-sweep/1"}, {"kind", plan.kind},
          {"command_line", plan.command_line}, {"config_path", plan.config_path.string()},
          {"sets", plan.sets}, {"grid", grid},
          {"seeds", plan.seeds}, {"jobs", plan.jobs},
          {"threads", plan.threads < 0 ? nlohmann::json() : nlohmann::json(plan.threads)},
          {"device", plan.device}, {"data_dir", plan.data_dir},
          {"config", plan.config}, {"runs", runs}};
}

Plan plan_from_json(const nlohmann::json& j, const std::filesystem::path& dir) {
  Plan plan;
  plan.dir = dir;
  try {
    if (j.at("format") != "dltrain-sweep/1") throw std::runtime_error("unknown format " + j.at("format").dump());
    plan.kind = j.at("kind").get<std::string>();
    plan.command_line = j.value("command_line", std::string());
    plan.config_path = j.at("config_path").get<std::string>();
    plan.config = j.at("config");
    plan.sets = j.at("sets").get<std::vector<std::string>>();
    for (const auto& axis : j.at("grid")) plan.grid.push_back({axis.at("key"), axis.at("values")});
    plan.combinations = combinations(plan.grid);
    plan.seeds = j.at("seeds").get<std::vector<int64_t>>();
    plan.jobs = j.at("jobs").get<int>();
    plan.threads = j.at("threads").is_null() ? -1 : j.at("threads").get<int64_t>();
    plan.device = j.at("device").get<std::string>();
    plan.data_dir = j.at("data_dir").get<std::string>();
    for (const auto& r : j.at("runs")) {
      Run run;
      run.id = r.at("id");
      run.name = r.at("name");
      run.combination = r.at("combination");
      run.seed = r.at("seed");
      run.run_dir = r.at("run_dir").is_null() ? "" : r.at("run_dir").get<std::string>();
      run.status = r.at("status");
      if (!r.at("exit_code").is_null()) run.exit_code = r.at("exit_code").get<int>();
      if (run.combination >= plan.combinations.size()) throw std::runtime_error("a run's combination is out of range");
      plan.runs.push_back(run);
    }
  } catch (const std::exception& e) {
    throw DataError((dir / "sweep.json").string() + ": not a sweep plan this dltrain can read (" + e.what() + ")",
                    "pass a folder that `dltrain sweep` or `dltrain train --seeds` created");
  }
  return plan;
}

}  // namespace dltrain::sweep
