// report.html (see html.hpp). Sections, in order: headline, curves, confusion, mistakes, time, environment, config.
#include "dltrain/report/html.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dltrain/core/format.hpp"
#include "dltrain/report/progress.hpp"
#include "dltrain/report/svg.hpp"

namespace dltrain::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const char* const kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px auto;max-width:1000px;
color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:14px;margin:14px 0 2px;color:#444}
.status{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600;font-size:13px;vertical-align:middle}
.ok{background:#2e7d32}.running{background:#1565c0}.warn{background:#ef6c00}.bad{background:#c62828}
.metric{font-size:20px;font-weight:600;margin:8px 0}.facts{color:#444}.error{background:#fdecea;border-left:4px solid #c62828;
padding:8px 12px;margin:10px 0}.notice{background:#fff3e0;border-left:4px solid #ef6c00;padding:8px 12px;margin:10px 0}
.hint{color:#555}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#333}svg .axis{font-size:12px;fill:#222}
svg .legend{font-size:12px}svg .plot{fill:#fafafa;stroke:#ccc}svg .grid{stroke:#e3e3e3}
svg .mark{stroke:#bbb;stroke-dasharray:2 3}svg .marklabel{fill:#888;font-size:10px}svg .count{font-size:11px;fill:#111}
svg .cell{stroke:#fff}table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.changed td{background:#fff8e1;font-weight:600}.mistakes{display:flex;flex-wrap:wrap;gap:8px}
svg.chart,svg.bars{max-width:100%;height:auto}figure{margin:0;width:92px;text-align:center;font-size:11px}figure img{width:56px;height:56px;image-rendering:pixelated;
border:1px solid #ccc}.empty{color:#888;font-style:italic}code{font-size:12px;word-break:break-all}
)";

std::string pct(double v) { return std::isfinite(v) ? format("%.2f%%", 100.0 * v) : "-"; }

std::string page(const std::string& title, const std::string& body, const char* sources) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src "
         "'unsafe-inline'\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         html_escape(title) + "</title>\n<style>" + kStyle + "</style></head>\n<body>\n" + body +
         "<footer class=\"facts\"><p>Written by dltrain " DLTRAIN_VERSION
         ". Every chart is drawn from " + sources + ".</p></footer>\n</body></html>\n";
}

std::string status_class(const std::string& status) {
  if (status == "completed" || status == "early_stopped") return "ok";
  if (status == "running") return "running";
  if (status == "interrupted") return "warn";
  return "bad";
}

// The epochs of report.json as columns: x (steps at each epoch's end) and the metrics.
std::vector<double> epoch_column(const nlohmann::json& epochs, const char* key) {
  std::vector<double> v;
  for (const nlohmann::json& e : epochs) v.push_back(number_at(e, key));
  return v;
}

std::string headline(const RunFiles& run) {
  const nlohmann::json& r = run.report;
  const std::string status = r.value("status", "unknown");
  const nlohmann::json epochs = r.value("epochs", nlohmann::json::array());
  const nlohmann::json env = r.value("environment", nlohmann::json::object());
  const nlohmann::json ds = r.value("dataset", nlohmann::json::object());
  const nlohmann::json segments = r.value("segments", nlohmann::json::array());
  std::string out = "<header id=\"headline\">\n<h1>" + html_escape(run.dir.filename().string()) +
                    " <span class=\"status " + status_class(status) + "\">" + html_escape(status) + "</span></h1>\n";
  out += "<p class=\"metric\">" + html_escape(headline_text(r)) + "</p>\n";
  if (r.contains("error") && r["error"].is_object()) {
    out += std::string("<div class=\"") + (status == "interrupted" ? "notice" : "error") + "\">" + html_escape(r["error"].value("message", std::string())) + "<br><span class=\"hint\">hint: " +
           html_escape(r["error"].value("hint", std::string())) + "</span></div>\n";
  }
  const double seconds = number_at(r.value("timings", nlohmann::json()), "total_s");
  out += format("<p class=\"facts\">%s: %lld train / %lld val / %lld test images &middot; %s parameters &middot; "
                "device %s (%s), %s &middot; %lld of %lld epoch(s), %lld steps &middot; wall time %s%s &middot; %s "
                "images/s (last epoch)</p>\n",
                html_escape(ds.value("name", std::string("?"))).c_str(), static_cast<long long>(ds.value("train", int64_t{0})),
                static_cast<long long>(ds.value("val", int64_t{0})), static_cast<long long>(ds.value("test", int64_t{0})),
                format("%.0f", number_at(r.value("model", nlohmann::json()), "parameters")).c_str(),
                html_escape(env.value("device", std::string("?"))).c_str(),
                html_escape(env.value("device_name", env.value("cpu_model", std::string("?")))).c_str(),
                html_escape(r.value("/config/train/precision"_json_pointer, std::string("?"))).c_str(),
                static_cast<long long>(epochs.size()), static_cast<long long>(r.value("/config/train/epochs"_json_pointer, int64_t{0})),
                static_cast<long long>(r.value("steps", int64_t{0})),
                std::isfinite(seconds) ? format_duration(seconds).c_str() : "-",
                segments.size() > 1 ? format(" in %zu processes (resumed)", segments.size()).c_str() : "",
                epochs.empty() ? "-" : format("%.0f", number_at(epochs.back(), "images_per_second")).c_str());
  out += "<p class=\"facts\">started " + html_escape(r.value("started_utc", std::string())) + " on " +
         html_escape(r.value("host", std::string())) + ": <code>" + html_escape(r.value("command_line", std::string())) +
         "</code></p>\n</header>\n";
  return out;
}

std::string curves(const RunFiles& run) {
  const nlohmann::json epochs = run.report.value("epochs", nlohmann::json::array());
  std::vector<double> sx, loss, acc, lr;
  for (const StepRow& s : run.steps) {
    sx.push_back(static_cast<double>(s.step));
    loss.push_back(s.loss);
    acc.push_back(s.accuracy);
    lr.push_back(s.lr);
  }
  const std::vector<double> ex = epoch_column(epochs, "step");
  Chart marks;
  for (size_t i = 0; i < ex.size(); ++i) marks.x_marks.emplace_back(ex[i], format("e%zu", i + 1));
  const auto metric_chart = [&](const std::string& id, const std::string& what, const char* train, const char* val,
                                const char* test, const std::vector<double>& per_step) {
    Chart c = marks;
    c.id = id;
    c.x_label = "optimizer step (dashed lines: epoch ends)";
    c.y_label = what;
    c.log_y = id == "loss";
    c.percent = id == "accuracy";
    return line_chart(c, {{"train_" + id, "train, per log interval", "#9ecae1", sx, per_step},
                          {"epoch_train_" + id, "train, epoch mean", "#1f77b4", ex, epoch_column(epochs, train), true, true},
                          {"val_" + id, "validation", "#ff7f0e", ex, epoch_column(epochs, val), true},
                          {"test_" + id, "test", "#2ca02c", ex, epoch_column(epochs, test), true}});
  };
  std::string out = "<section id=\"curves\"><h2>Learning curves</h2>\n<h3>Loss (cross-entropy)</h3>\n";
  out += metric_chart("loss", "loss", "train_loss", "val_loss", "test_loss", loss);
  out += "\n<h3>Accuracy</h3>\n" + metric_chart("accuracy", "accuracy (%)", "train_accuracy", "val_accuracy", "test_accuracy", acc);
  Chart lr_chart = marks;
  lr_chart.id = "lr";
  lr_chart.x_label = "optimizer step";
  lr_chart.y_label = "learning rate";
  lr_chart.height = 200;
  out += "\n<h3>Learning rate (at each log interval)</h3>\n" + line_chart(lr_chart, {{"lr", "learning rate", "#9467bd", sx, lr}});
  Chart speed;
  speed.id = "throughput";
  speed.x_label = "epoch";
  speed.integer_x = true;
  speed.from_zero = true;
  speed.y_label = "images/s";
  speed.height = 200;
  out += "\n<h3>Training speed per epoch</h3>\n" +
         line_chart(speed, {{"images_per_second", "training images/s", "#8c564b", epoch_column(epochs, "epoch"),
                             epoch_column(epochs, "images_per_second"), true}});
  return out + "</section>\n";
}

// The model the headline is about: best.pt's evaluation, else the latest evaluation of the final model.
const nlohmann::json& headline_eval(const nlohmann::json& r) {
  static const nlohmann::json none;
  if (r.contains("selected_test") && r["selected_test"].is_object()) return r["selected_test"];
  if (r.contains("final_test") && r["final_test"].is_object()) return r["final_test"];
  return none;
}

std::string confusion(const RunFiles& run) {
  const nlohmann::json& e = headline_eval(run.report);
  std::string out = "<section id=\"confusion\"><h2>Confusion matrix and per-class accuracy</h2>\n";
  if (!e.is_object() || !e.contains("confusion_matrix")) return out + "<p class=\"empty\">no test evaluation yet</p></section>\n";
  const auto names = e.value("classes", std::vector<std::string>());
  out += "<p class=\"facts\">Test split, " + html_escape(e.value("model", std::string("the run's model"))) + ": " +
         format("%lld of %lld correct", static_cast<long long>(e.value("correct", int64_t{0})),
                static_cast<long long>(e.value("examples", int64_t{0}))) + ".</p>\n";
  out += heat_map(e["confusion_matrix"].get<std::vector<std::vector<int64_t>>>(), names);
  std::vector<Bar> bars;
  const nlohmann::json per_class = e.value("per_class_accuracy", nlohmann::json::array());
  for (size_t i = 0; i < per_class.size(); ++i) {
    const double a = per_class[i].is_number() ? per_class[i].get<double>() : kNaN;
    bars.push_back({i < names.size() ? names[i] : std::to_string(i), std::isfinite(a) ? 100.0 * a : 0.0, pct(a)});
  }
  out += "\n<h3>Per-class accuracy</h3>\n" + bar_chart(bars, 100.0, "%");
  return out + "</section>\n";
}

std::string mistakes(const RunFiles& run) {
  std::string out = "<section id=\"mistakes\"><h2>Most confident mistakes</h2>\n";
  const nlohmann::json m = run.report.value("mistakes", nlohmann::json());
  if (!m.is_object()) {
    return out + "<p class=\"empty\">none recorded yet (the test split is evaluated at the end of an epoch)</p></section>\n";
  }
  if (m.value("images", nlohmann::json::array()).empty()) {
    return out + "<p class=\"facts\">None: " + html_escape(m.value("model", std::string("the model"))) +
           " classified every test image correctly.</p></section>\n";
  }
  out += "<p class=\"facts\">The test images " + html_escape(m.value("model", std::string("the model"))) +
         " got wrong with the highest confidence (true class, predicted class and its softmax probability).</p>\n"
         "<div class=\"mistakes\">\n";
  for (const nlohmann::json& i : m["images"]) {
    out += format("<figure><img alt=\"test image %lld\" src=\"data:image/png;base64,%s\"><figcaption>#%lld<br>true "
                  "<b>%s</b><br>predicted <b>%s</b> %.1f%%</figcaption></figure>\n",
                  static_cast<long long>(i.value("index", int64_t{0})), i.value("png", std::string()).c_str(),
                  static_cast<long long>(i.value("index", int64_t{0})), html_escape(i.value("label", std::string())).c_str(),
                  html_escape(i.value("predicted", std::string())).c_str(), 100.0 * number_at(i, "confidence"));
  }
  return out + "</div></section>\n";
}

std::string monitor_charts(const nlohmann::json& monitor) {
  const nlohmann::json series = monitor.is_object() ? monitor.value("series", nlohmann::json()) : nlohmann::json();
  if (!series.is_object() || !series.contains("t_s") || series["t_s"].empty()) {
    return "<p class=\"empty\">no monitor samples (--monitor-interval 0, or the run was too short)</p>\n";
  }
  static const std::vector<std::pair<std::string, std::string>> units = {
      {"cpu_percent", "CPU (%, 100 = 1 core)"},         {"rss_mib", "resident memory (MiB)"},
      {"gpu_util_percent", "GPU utilisation (%)"},       {"gpu_memory_used_mib", "GPU memory used (MiB)"},
      {"gpu_power_w", "GPU power (W)"},                  {"gpu_temperature_c", "GPU temperature (°C)"},
      {"gpu_sm_clock_mhz", "GPU SM clock (MHz)"}};
  std::vector<double> t;
  for (const nlohmann::json& v : series["t_s"]) t.push_back(v.is_number() ? v.get<double>() : kNaN);
  std::string out;
  size_t i = 0;
  for (const auto& [key, label] : units) {
    if (!series.contains(key)) continue;
    std::vector<double> y;
    for (const nlohmann::json& v : series[key]) y.push_back(v.is_number() ? v.get<double>() : kNaN);
    Chart c;
    c.id = key;
    c.x_label = "seconds since this process started";
    c.y_label = label;
    c.width = 470;
    c.height = 190;
    out += line_chart(c, {{key, label, palette(i++), t, y}});
  }
  return out;
}

std::string time_section(const RunFiles& run) {
  const nlohmann::json t = run.report.value("timings", nlohmann::json::object());
  const double first = std::max(0.0, number_at(t, "first_step_s"));
  std::vector<Bar> parts = {{"data load", number_at(t, "data_load_s"), "", "#8c564b"},
                            {"first step", first, "", "#e377c2"},
                            {"other training steps", number_at(t, "train_s") - first, "", "#1f77b4"},
                            {"evaluation", number_at(t, "eval_s"), "", "#ff7f0e"},
                            {"checkpoints", number_at(t, "checkpoint_s"), "", "#2ca02c"},
                            {"reports", number_at(t, "report_s"), "", "#9467bd"}};
  double known = 0;
  for (Bar& p : parts) {
    if (!std::isfinite(p.value)) p.value = 0;
    known += p.value;
    p.text = format("%.2f s", p.value);
  }
  const double total = number_at(t, "total_s");
  if (std::isfinite(total) && total > known) parts.push_back({"other (start-up, set-up)", total - known, format("%.2f s", total - known), "#bbbbbb"});
  const nlohmann::json steps = t.value("step_time", nlohmann::json());
  std::string out = "<section id=\"time\"><h2>Where the time went</h2>\n" + stacked_bar(parts);
  out += format("<p class=\"facts\">Total %.2f s. Steady-state steps (this process): %s ms median, %s ms p95, %s ms max "
                "over %lld steps.</p>\n",
                total, std::isfinite(number_at(steps, "median_ms")) ? format("%.2f", number_at(steps, "median_ms")).c_str() : "-",
                std::isfinite(number_at(steps, "p95_ms")) ? format("%.2f", number_at(steps, "p95_ms")).c_str() : "-",
                std::isfinite(number_at(steps, "max_ms")) ? format("%.2f", number_at(steps, "max_ms")).c_str() : "-",
                static_cast<long long>(steps.is_object() ? steps.value("steps", int64_t{0}) : 0));
  out += "<h3>Hardware monitor</h3>\n" + monitor_charts(run.report.value("monitor", nlohmann::json()));
  return out + "</section>\n";
}

std::string key_value_table(const nlohmann::json& flat, const std::vector<std::string>& marked) {
  std::string out = "<table>\n";
  for (auto it = flat.begin(); it != flat.end(); ++it) {
    const bool changed = std::find(marked.begin(), marked.end(), it.key()) != marked.end();
    std::string key = it.key().substr(1);
    std::replace(key.begin(), key.end(), '/', '.');
    out += std::string("<tr") + (changed ? " class=\"changed\"" : "") + "><td>" + html_escape(key) + "</td><td>" +
           html_escape(it.value().is_string() ? it.value().get<std::string>() : it.value().dump()) + "</td></tr>\n";
  }
  return out + "</table>\n";
}

std::string environment(const RunFiles& run) {
  nlohmann::json env = run.report.value("environment", nlohmann::json::object());
  env["host"] = run.report.value("host", nlohmann::json());
  env["peak_rss_mib"] = run.report.value("peak_rss_mib", nlohmann::json());
  return "<section id=\"environment\"><h2>Environment</h2>\n" + key_value_table(env.flatten(), {}) + "</section>\n";
}

// The model as its layer table (from report.json's model summary), then every other resolved config value.
std::string config_section(const RunFiles& run, const std::vector<std::string>& changed) {
  const nlohmann::json model = run.report.value("model", nlohmann::json::object());
  std::string out = "<section id=\"config\"><h2>Model and resolved config</h2>\n<table>\n<tr><th>layer</th><th>output "
                    "shape</th><th>parameters</th></tr>\n";
  for (const nlohmann::json& layer : model.value("layers", nlohmann::json::array())) {
    std::string shape;
    for (const nlohmann::json& d : layer.value("output_shape", nlohmann::json::array())) shape += (shape.empty() ? "" : "x") + d.dump();
    out += "<tr><td>" + html_escape(layer.value("layer", std::string())) + "</td><td>" + shape + "</td><td class=\"num\">" +
           text_of(layer.value("parameters", nlohmann::json())) + "</td></tr>\n";
  }
  out += "<tr><th>total</th><th></th><th class=\"num\">" + text_of(model.value("parameters", nlohmann::json())) +
         "</th></tr>\n</table>\n<p class=\"facts\">Highlighted: values that differ from dltrain's defaults.</p>\n";
  return out + key_value_table(config_without_model(run.report), changed) + "</section>\n";
}

// One row per run: the columns every run has.
std::string comparison_table(const std::vector<RunFiles>& runs, const nlohmann::json& rows) {
  std::string out = "<table id=\"comparison\">\n<tr><th>run</th><th>status</th><th>dataset</th><th>parameters</th>"
                    "<th>epochs</th><th>headline (test accuracy)</th><th>time</th><th>images/s</th><th>device</th>"
                    "<th>precision</th></tr>\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const nlohmann::json& r = rows[i];
    const auto num = [&](const char* key, const char* fmt) { return r[key].is_number() ? format(fmt, r[key].get<double>()) : "-"; };
    out += "<tr class=\"run\"><td style=\"border-left:6px solid " + palette(i) + "\">" +
           html_escape(runs[i].dir.filename().string()) + "</td><td>" + html_escape(r["status"].get<std::string>()) +
           "</td><td>" + html_escape(r["dataset"].get<std::string>()) + "</td><td class=\"num\">" +
           num("parameters", "%.0f") + "</td><td class=\"num\">" + std::to_string(r["epochs"].get<int64_t>()) +
           "</td><td class=\"num\">" + (r["test_accuracy"].is_number() ? pct(r["test_accuracy"].get<double>()) : "-") +
           "</td><td class=\"num\">" + (r["seconds"].is_number() ? format_duration(r["seconds"].get<double>()) : "-") +
           "</td><td class=\"num\">" + num("images_per_second", "%.0f") + "</td><td>" +
           html_escape(r["device"].get<std::string>()) + "</td><td>" + html_escape(r["precision"].get<std::string>()) +
           "</td></tr>\n";
  }
  return out + "</table>\n";
}

// The config values that differ between the runs: one row per key, one column per run.
std::string differences_table(const std::vector<RunFiles>& runs, const nlohmann::json& rows) {
  const nlohmann::json& first = rows[0]["config"];
  if (first.empty()) return "<p class=\"facts\">The runs' configs are the same (but for names and folders).</p>\n";
  std::string out = "<h3>Config values that differ</h3>\n<table id=\"differences\">\n<tr><th>key</th>";
  for (size_t i = 0; i < runs.size(); ++i) {
    out += "<th style=\"border-top:4px solid " + palette(i) + "\">" + html_escape(runs[i].dir.filename().string()) + "</th>";
  }
  out += "</tr>\n";
  for (auto it = first.begin(); it != first.end(); ++it) {
    out += "<tr><td>" + html_escape(it.key()) + "</td>";
    for (const nlohmann::json& r : rows) out += "<td>" + html_escape(text_of(r["config"].value(it.key(), nlohmann::json()))) + "</td>";
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

}  // namespace

std::string run_html(const RunFiles& run, const std::vector<std::string>& changed_keys) {
  const std::string body = headline(run) + curves(run) + confusion(run) + mistakes(run) + time_section(run) +
                           environment(run) + config_section(run, changed_keys);
  return page("dltrain: " + run.dir.filename().string() + " (" + run.report.value("status", "unknown") + ")", body,
              "this run's steps.csv, metrics.csv and report.json");
}

std::string comparison_html(const std::vector<RunFiles>& runs) {
  const nlohmann::json rows = comparison_json(runs);
  std::string body = format("<header><h1>dltrain: %zu runs compared</h1></header>\n<section>\n", runs.size()) +
                     comparison_table(runs, rows) + differences_table(runs, rows) +
                     "</section>\n<section id=\"curves\"><h2>Learning curves</h2>\n";
  std::vector<Series> loss, accuracy;
  for (size_t i = 0; i < runs.size(); ++i) {
    Series s;
    s.name = "train_loss";
    s.label = runs[i].dir.filename().string();
    s.color = palette(i);
    for (const StepRow& row : runs[i].steps) {
      s.x.push_back(static_cast<double>(row.step));
      s.y.push_back(row.loss);
    }
    loss.push_back(s);
    const nlohmann::json epochs = runs[i].report.value("epochs", nlohmann::json::array());
    const bool has_val = std::any_of(epochs.begin(), epochs.end(), [](const nlohmann::json& e) { return std::isfinite(number_at(e, "val_accuracy")); });
    accuracy.push_back({has_val ? "val_accuracy" : "test_accuracy", runs[i].dir.filename().string() + (has_val ? " (val)" : " (test)"),
                        palette(i), epoch_column(epochs, "step"), epoch_column(epochs, has_val ? "val_accuracy" : "test_accuracy"), true});
  }
  Chart c;
  c.id = "compare_loss";
  c.x_label = "optimizer step";
  c.y_label = "training loss per log interval";
  c.log_y = true;
  body += "<h3>Training loss</h3>\n" + line_chart(c, loss);
  c.id = "compare_accuracy";
  c.y_label = "accuracy at each epoch end (%)";
  c.log_y = false;
  c.percent = true;
  body += "\n<h3>Validation accuracy (test accuracy where a run has no validation split)</h3>\n" + line_chart(c, accuracy);
  return page(format("dltrain: %zu runs compared", runs.size()), body + "</section>\n",
              "the runs' steps.csv and report.json");
}

}  // namespace dltrain::report
