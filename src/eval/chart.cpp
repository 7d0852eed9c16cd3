#include "eval/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "eval/png.h"

namespace ratkv::eval {

namespace {
const Color kPalette[] = {{31, 119, 180},  {214, 39, 40},  {44, 160, 44},
                          {148, 103, 189}, {255, 127, 14}, {140, 86, 75}};
const Color kInk = {40, 40, 40}, kGrid = {225, 225, 225};
}  // namespace

std::string fraction_label(double x) {
  if (x >= 1.0) return "1";
  const double inv = 1.0 / x;
  if (std::fabs(inv - std::round(inv)) < 1e-9)
    return "1/" + std::to_string(static_cast<long long>(std::round(inv)));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

void draw_chart(const Chart& chart, Painter& p, int width, int height) {
  const double left = 64, right = width - 150.0, top = 40, bottom = height - 52.0;
  double xmin = 1.0;
  for (const auto& s : chart.series)
    for (double x : s.x) xmin = std::min(xmin, x);
  double lmin = std::floor(std::log2(std::max(xmin, 1.0 / 1024)));
  if (lmin > -1) lmin = -1;
  auto px = [&](double x) {
    return left + (std::log2(std::max(x, 1e-9)) - lmin) / (0 - lmin) * (right - left);
  };
  auto py = [&](double y) { return bottom - std::clamp(y, 0.0, 100.0) / 100.0 * (bottom - top); };
  for (int v = 0; v <= 100; v += 20) {
    p.line(left, py(v), right, py(v), kGrid, 1, false);
    p.text(left - 8, py(v) + 4, std::to_string(v), 8, Anchor::End, kInk);
  }
  for (int l = static_cast<int>(lmin); l <= 0; ++l) {
    p.line(px(std::exp2(l)), bottom, px(std::exp2(l)), bottom + 5, kInk, 1, false);
    p.text(px(std::exp2(l)), bottom + 18, fraction_label(std::exp2(l)), 8, Anchor::Middle, kInk);
  }
  p.line(left, bottom, right, bottom, kInk, 1.5, false);
  p.line(left, top, left, bottom, kInk, 1.5, false);
  p.text((left + right) / 2, 24, chart.title, 10, Anchor::Middle, kInk);
  p.text((left + right) / 2, height - 12.0, chart.x_label, 8, Anchor::Middle, kInk);
  p.text(18, (top + bottom) / 2, chart.y_label, 8, Anchor::Middle, kInk, true);
  for (size_t k = 0; k < chart.series.size(); ++k) {
    const auto& s = chart.series[k];
    const Color c = kPalette[k % 6];
    const bool dashed = k % 2 == 1,
               square = k % 2 == 1;  // the paper's style: solid/triangles vs dashed/squares
    std::vector<size_t> order(s.x.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
    for (size_t i = 0; i + 1 < order.size(); ++i)
      p.line(px(s.x[order[i]]), py(s.y[order[i]]), px(s.x[order[i + 1]]), py(s.y[order[i + 1]]), c, 2,
             dashed);
    for (size_t i : order) {
      if (i < s.lo.size() && i < s.hi.size())
        p.line(px(s.x[i]), py(s.lo[i]), px(s.x[i]), py(s.hi[i]), c, 1, false);
      p.marker(px(s.x[i]), py(s.y[i]), 4, c, square);
    }
    const double ly = top + 14 + 20.0 * static_cast<double>(k);
    p.line(right + 12, ly - 4, right + 36, ly - 4, c, 2, dashed);
    p.marker(right + 24, ly - 4, 3.5, c, square);
    p.text(right + 42, ly, s.name.substr(0, 16), 8, Anchor::Start, kInk);
  }
}

std::string chart_svg(const Chart& chart, int width, int height) {
  SvgPainter p(width, height);
  draw_chart(chart, p, width, height);
  return p.finish();
}

std::vector<uint8_t> chart_png(const Chart& chart, int width, int height) {
  RasterPainter p(width, height);
  draw_chart(chart, p, width, height);
  return encode_png(p.rgb(), width, height);
}

}  // namespace ratkv::eval
