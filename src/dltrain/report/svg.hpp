// Inline SVG charts for report.html: line charts with labelled axes, bars and a heat map. Every line chart says how
// it maps data to pixels (data-xmap="a b": px = a*x + b; data-ymap likewise, of log10(y) when data-yscale="log"),
// and every line names its data (data-series), so a test can read the drawn numbers back and compare them with the
// files they came from.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dltrain::report {

struct Series {
  std::string name;   // data-series: which file column it draws
  std::string label;  // legend text
  std::string color;
  std::vector<double> x, y;  // NaN (and, on a log axis, values <= 0) are left out
  bool markers = false;      // a dot at each point
  bool dashed = false;
};

struct Chart {
  std::string id;                // data-chart
  std::string x_label, y_label;  // with units
  bool log_y = false;
  bool percent = false;          // y values are fractions, labelled in %
  bool integer_x = false;        // x ticks at whole numbers only (epochs)
  bool from_zero = false;        // the y axis starts at 0 (rates, whose changes a cut axis would exaggerate)
  std::vector<std::pair<double, std::string>> x_marks;  // labelled vertical guides, e.g. epoch ends
  int width = 960, height = 260;
};

std::string line_chart(const Chart& chart, const std::vector<Series>& series);

struct Bar {
  std::string label;
  double value = 0;
  std::string text;  // shown beside the bar
  std::string color = "#4c78a8";
};
// Horizontal bars from 0 to `full_scale` (the axis is labelled with `unit`).
std::string bar_chart(const std::vector<Bar>& bars, double full_scale, const std::string& unit);
// One bar split into parts proportional to their values, with a legend.
std::string stacked_bar(const std::vector<Bar>& parts);
// A confusion matrix: rows are true classes, columns predictions; the diagonal in green by row accuracy, errors in
// red by count.
std::string heat_map(const std::vector<std::vector<int64_t>>& counts, const std::vector<std::string>& names);

std::string html_escape(const std::string& text);
// A colour of a fixed palette, for the i-th run or series.
std::string palette(size_t i);

}  // namespace dltrain::report
