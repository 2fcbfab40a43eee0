// Inline SVG charts (see svg.hpp).
#include "dltrain/report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dltrain/core/format.hpp"

namespace dltrain::report {
namespace {

constexpr int kLeft = 70, kRight = 20, kTop = 30, kBottom = 44;  // plot margins in pixels

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi], about `count` of them.
std::vector<double> nice_ticks(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (const double m : {2.0, 5.0, 10.0}) {
    if (step >= raw) break;
    step = m * magnitude;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

// 1, 2 and 5 times powers of ten in [lo, hi] (values, not logarithms).
std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> ticks;
  for (int e = static_cast<int>(std::floor(std::log10(lo))); e <= static_cast<int>(std::ceil(std::log10(hi))); ++e) {
    for (const double m : {1.0, 2.0, 5.0}) {
      const double t = m * std::pow(10.0, e);
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push_back(t);
    }
  }
  if (ticks.size() > 7) {  // many decades: powers of ten only, every k-th
    std::vector<double> decades;
    for (const double t : ticks) {
      if (std::fabs(std::log10(t) - std::round(std::log10(t))) < 1e-9) decades.push_back(t);
    }
    ticks.clear();
    const size_t every = (decades.size() + 5) / 6;
    for (size_t i = 0; i < decades.size(); i += std::max<size_t>(1, every)) ticks.push_back(decades[i]);
  }
  if (ticks.size() < 2) ticks = {lo, hi};
  return ticks;
}

std::string tick_label(double v, bool percent) {
  if (percent) return format("%g%%", std::round(v * 1e6) / 1e4);
  if (std::fabs(v) >= 1e4) return format("%.3gk", v / 1e3);
  return format("%g", std::fabs(v) < 1e-12 ? 0.0 : v);
}

bool usable(double x, double y, bool log_y) { return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0); }

std::string legend(const std::vector<Series>& series) {
  std::string out;
  double x = kLeft;
  for (const Series& s : series) {
    out += format("<line x1=\"%.0f\" y1=\"12\" x2=\"%.0f\" y2=\"12\" stroke=\"%s\" stroke-width=\"3\"%s/>", x, x + 18,
                  s.color.c_str(), s.dashed ? " stroke-dasharray=\"4 3\"" : "");
    out += format("<text x=\"%.0f\" y=\"16\" class=\"legend\">%s</text>", x + 22, html_escape(s.label).c_str());
    x += 30 + 6.5 * static_cast<double>(s.label.size());
  }
  return out;
}

// The y axis's ticks; widens `yr` (log10 values on a log axis) to whole ticks so that both ends are labelled.
std::vector<double> y_axis(const Chart& c, Range& yr) {
  std::vector<double> yticks;
  if (c.from_zero && !c.log_y) yr.add(0.0);
  if (c.log_y) {  // widen the axis to the 1-2-5 values around the data, so both ends are labelled
    const auto outward = [](double v, bool up) {
      const double decade = std::pow(10.0, std::floor(std::log10(v)));
      for (const double m : up ? std::vector<double>{1, 2, 5, 10} : std::vector<double>{5, 2, 1}) {
        if (up ? m * decade >= v * (1 - 1e-9) : m * decade <= v * (1 + 1e-9)) return m * decade;
      }
      return decade;
    };
    yr = {std::log10(outward(std::pow(10.0, yr.lo), false)), std::log10(outward(std::pow(10.0, yr.hi), true))};
    yticks = log_ticks(std::pow(10.0, yr.lo), std::pow(10.0, yr.hi));
  } else {
    yticks = nice_ticks(yr.lo, yr.hi, 5);  // widen the axis to whole ticks
    const double step = yticks.size() > 1 ? yticks[1] - yticks[0] : 1.0;
    if (yticks.front() > yr.lo + 1e-12) yticks.insert(yticks.begin(), yticks.front() - step);
    if (yticks.back() < yr.hi - 1e-12) yticks.push_back(yticks.back() + step);
    yr = {yticks.front(), yticks.back()};
  }
  return yticks;
}

}  // namespace

std::string line_chart(const Chart& c, const std::vector<Series>& series) {
  Range xr, yr;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i], c.log_y)) continue;
      xr.add(s.x[i]);
      yr.add(c.log_y ? std::log10(s.y[i]) : s.y[i]);
    }
  }
  if (xr.empty()) return "<p class=\"empty\">no data yet</p>";
  for (const auto& mark : c.x_marks) xr.add(mark.first);  // every chart of a page spans the same epochs
  if (xr.hi == xr.lo) xr = {xr.lo - 1, xr.hi + 1};
  if (yr.hi - yr.lo < 1e-12) yr = {yr.lo - std::max(0.05, std::fabs(yr.lo) * 0.05), yr.hi + std::max(0.05, std::fabs(yr.hi) * 0.05)};
  const std::vector<double> yticks = y_axis(c, yr);
  const double plot_w = c.width - kLeft - kRight, plot_h = c.height - kTop - kBottom;
  const double a = plot_w / (xr.hi - xr.lo), b = kLeft - a * xr.lo;
  const double cy = -plot_h / (yr.hi - yr.lo), dy = kTop + plot_h - cy * yr.lo;
  const auto px = [&](double x) { return a * x + b; };
  const auto py = [&](double y) { return cy * (c.log_y ? std::log10(y) : y) + dy; };

  std::string out = format(
      "<svg class=\"chart\" data-chart=\"%s\" data-xmap=\"%.12g %.12g\" data-ymap=\"%.12g %.12g\"%s width=\"%d\" "
      "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">",
      c.id.c_str(), a, b, cy, dy, c.log_y ? " data-yscale=\"log\"" : "", c.width, c.height, c.width, c.height);
  out += format("<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" class=\"plot\"/>", kLeft, kTop, plot_w, plot_h);
  for (const double t : yticks) {
    out += format("<line x1=\"%d\" x2=\"%.1f\" y1=\"%.2f\" y2=\"%.2f\" class=\"grid\"/>", kLeft, kLeft + plot_w, py(t), py(t));
    out += format("<text x=\"%d\" y=\"%.2f\" class=\"tick\" text-anchor=\"end\">%s</text>", kLeft - 6, py(t) + 4,
                  tick_label(t, c.percent).c_str());
  }
  for (const double t : nice_ticks(xr.lo, xr.hi, 6)) {
    if (c.integer_x && std::fabs(t - std::round(t)) > 1e-9) continue;
    out += format("<text x=\"%.2f\" y=\"%.0f\" class=\"tick\" text-anchor=\"middle\">%s</text>", px(t),
                  kTop + plot_h + 16, tick_label(t, false).c_str());
  }
  const size_t mark_every = std::max<size_t>(1, c.x_marks.size() / 12);
  for (size_t i = 0; i < c.x_marks.size(); ++i) {
    const double x = px(c.x_marks[i].first);
    out += format("<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%d\" y2=\"%.0f\" class=\"mark\"/>", x, x, kTop, kTop + plot_h);
    if ((i + 1) % mark_every == 0 || i + 1 == c.x_marks.size()) {
      out += format("<text x=\"%.2f\" y=\"%d\" class=\"marklabel\" text-anchor=\"end\">%s</text>", x - 2, kTop + 10,
                    html_escape(c.x_marks[i].second).c_str());
    }
  }
  for (const Series& s : series) {
    std::string points, dots;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i], c.log_y)) continue;
      points += format("%s%.2f,%.2f", points.empty() ? "" : " ", px(s.x[i]), py(s.y[i]));
      if (s.markers) dots += format("<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>", px(s.x[i]), py(s.y[i]), s.color.c_str());
    }
    if (points.empty()) continue;
    out += format("<polyline data-series=\"%s\" points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s/>",
                  s.name.c_str(), points.c_str(), s.color.c_str(), s.markers ? "1.5" : "1.2",
                  s.dashed ? " stroke-dasharray=\"5 3\"" : "");
    out += dots;
  }
  out += legend(series);
  out += format("<text x=\"%.0f\" y=\"%d\" class=\"axis\" text-anchor=\"middle\">%s</text>", kLeft + plot_w / 2,
                c.height - 6, html_escape(c.x_label).c_str());
  out += format("<text transform=\"translate(14 %.0f) rotate(-90)\" class=\"axis\" text-anchor=\"middle\">%s</text>",
                kTop + plot_h / 2, html_escape(c.y_label + (c.log_y ? " (log scale)" : "")).c_str());
  return out + "</svg>";
}

std::string bar_chart(const std::vector<Bar>& bars, double full_scale, const std::string& unit) {
  const int row = 20, label_w = 130, bar_w = 420, height = static_cast<int>(bars.size()) * row + 30;
  std::string out = format("<svg class=\"bars\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">",
                           label_w + bar_w + 120, height, label_w + bar_w + 120, height);
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& bar = bars[i];
    const double y = static_cast<double>(i) * row + 4;
    const double w = full_scale > 0 ? std::clamp(bar.value / full_scale, 0.0, 1.0) * bar_w : 0.0;
    out += format("<text x=\"%d\" y=\"%.0f\" class=\"tick\" text-anchor=\"end\">%s</text>", label_w - 6, y + 13,
                  html_escape(bar.label).c_str());
    out += format("<rect x=\"%d\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"%s\"/>", label_w, y, w, row - 6,
                  bar.color.c_str());
    out += format("<text x=\"%.2f\" y=\"%.0f\" class=\"tick\">%s</text>", label_w + w + 6, y + 13,
                  html_escape(bar.text).c_str());
  }
  const double axis_y = static_cast<double>(bars.size()) * row + 6;
  out += format("<line x1=\"%d\" x2=\"%d\" y1=\"%.0f\" y2=\"%.0f\" class=\"grid\"/>", label_w, label_w + bar_w, axis_y, axis_y);
  out += format("<text x=\"%d\" y=\"%.0f\" class=\"tick\">0</text><text x=\"%d\" y=\"%.0f\" class=\"tick\" "
                "text-anchor=\"end\">%s</text>",
                label_w, axis_y + 14, label_w + bar_w, axis_y + 14, html_escape(format("%g %s", full_scale, unit.c_str())).c_str());
  return out + "</svg>";
}

std::string stacked_bar(const std::vector<Bar>& parts) {
  double total = 0;
  for (const Bar& p : parts) total += std::max(0.0, p.value);
  const int width = 960, bar_h = 26;
  const int height = bar_h + 24 + 18 * static_cast<int>((parts.size() + 2) / 3);
  std::string out = format("<svg class=\"bars\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", width,
                           height, width, height);
  double x = 0;
  for (const Bar& p : parts) {
    const double w = total > 0 ? std::max(0.0, p.value) / total * width : 0.0;
    out += format("<rect x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"%d\" fill=\"%s\"><title>%s</title></rect>", x, w,
                  bar_h, p.color.c_str(), html_escape(p.label + ": " + p.text).c_str());
    x += w;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const double lx = static_cast<double>(i % 3) * 320, ly = bar_h + 18 + 18 * static_cast<double>(i / 3);
    out += format("<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/>", lx, ly - 10, parts[i].color.c_str());
    out += format("<text x=\"%.0f\" y=\"%.0f\" class=\"tick\">%s: %s (%.1f%%)</text>", lx + 16, ly,
                  html_escape(parts[i].label).c_str(), html_escape(parts[i].text).c_str(),
                  total > 0 ? 100.0 * std::max(0.0, parts[i].value) / total : 0.0);
  }
  return out + "</svg>";
}

std::string heat_map(const std::vector<std::vector<int64_t>>& counts, const std::vector<std::string>& names) {
  const int n = static_cast<int>(counts.size()), cell = 40, left = 110, top = 96;
  int64_t max_error = 1;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      if (i != j) max_error = std::max(max_error, counts[i][j]);
    }
  }
  const int size_w = left + n * cell + 10, size_h = top + n * cell + 10;
  std::string out = format("<svg class=\"heatmap\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", size_w,
                           size_h, size_w, size_h);
  out += format("<text x=\"%d\" y=\"14\" class=\"axis\">predicted class &#8594;</text>", left);
  out += format("<text transform=\"translate(14 %d) rotate(-90)\" class=\"axis\" text-anchor=\"end\">true class "
                "&#8594;</text>",
                top + 8);
  for (int i = 0; i < n; ++i) {
    const std::string name = html_escape(i < static_cast<int>(names.size()) ? names[i] : std::to_string(i));
    out += format("<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">%s</text>", left - 6,
                  top + i * cell + cell / 2 + 4, name.c_str());
    out += format("<text transform=\"translate(%d %d) rotate(-45)\" class=\"tick\">%s</text>", left + i * cell + cell / 2,
                  top - 6, name.c_str());
    int64_t row_total = 0;
    for (int j = 0; j < n; ++j) row_total += counts[i][j];
    for (int j = 0; j < n; ++j) {
      const int64_t v = counts[i][j];
      const double strength = i == j ? (row_total > 0 ? static_cast<double>(v) / static_cast<double>(row_total) : 0.0)
                                     : static_cast<double>(v) / static_cast<double>(max_error);
      const std::string fill = i == j ? format("rgba(44,160,44,%.3f)", 0.15 + 0.85 * strength)
                                      : format("rgba(214,39,40,%.3f)", v == 0 ? 0.0 : 0.1 + 0.9 * strength);
      out += format("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" class=\"cell\"><title>true %s, "
                    "predicted %s: %lld</title></rect>",
                    left + j * cell, top + i * cell, cell, cell, fill.c_str(), name.c_str(),
                    html_escape(j < static_cast<int>(names.size()) ? names[j] : std::to_string(j)).c_str(),
                    static_cast<long long>(v));
      if (v != 0) {
        out += format("<text x=\"%d\" y=\"%d\" class=\"count\" text-anchor=\"middle\">%lld</text>", left + j * cell + cell / 2,
                      top + i * cell + cell / 2 + 4, static_cast<long long>(v));
      }
    }
  }
  return out + "</svg>";
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string palette(size_t i) {
  static const char* const colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return colors[i % 10];
}

}  // namespace dltrain::report
