#pragma once
// A line chart of accuracy against budget: x on a log2 axis (1/64 .. 1), y in 0..100, one line per series
// with markers and a shaded-free vertical 95% interval bar at each point. Laid out once, drawn by any
// Painter.
#include <string>
#include <vector>

#include "eval/painter.h"

namespace ratkv::eval {

struct ChartSeries {
  std::string name;
  std::vector<double> x, y, lo, hi;  // x: budget fraction in (0, 1]
};

struct Chart {
  std::string title;
  std::string x_label = "budget (fraction of the context)";
  std::string y_label = "accuracy (%)";
  std::vector<ChartSeries> series;
};

void draw_chart(const Chart& chart, Painter& painter, int width, int height);
std::string chart_svg(const Chart& chart, int width = 640, int height = 400);
std::vector<uint8_t> chart_png(const Chart& chart, int width = 640, int height = 400);
// "1", "1/2", ... for powers of two, else the decimal.
std::string fraction_label(double x);

}  // namespace ratkv::eval
