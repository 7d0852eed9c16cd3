#include "train/metrics_log.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "base/error.h"

namespace ratkv::train {

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step) : path_(path) {
  std::vector<std::string> kept;
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const Json j = Json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;  // a line cut short when the previous piece was killed
      if (j.value("step", int64_t{0}) <= resume_step) kept.push_back(line);
    }
  }
  out_.open(path, std::ios::trunc);
  require(out_.good(), path, ": cannot open the metrics log for writing");
  for (const auto& line : kept) out_ << line << '\n';
  out_.flush();
}

void MetricsLog::write(const Json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
}

std::vector<Json> read_metrics(const std::string& path) {
  std::ifstream in(path);
  require(in.good(), path, ": cannot open the metrics log");
  std::vector<Json> records;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    records.push_back(parse_json(line, cat(path, ":", number)));
  }
  return records;
}

namespace {

std::string fmt(double v) {
  char buf[32];
  if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-2))
    std::snprintf(buf, sizeof buf, "%.2g", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string loss_curve_svg(const std::vector<std::pair<std::string, std::vector<Json>>>& runs,
                           const std::string& key) {
  const double width = 720, height = 440, left = 70, right = 20, top = 30, bottom = 50;
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  std::vector<std::vector<std::pair<double, double>>> series;
  for (const auto& [name, records] : runs) {
    std::vector<std::pair<double, double>> points;
    for (const Json& r : records) {
      if (!r.contains(key) || !r[key].is_number()) continue;
      const double x = r.value("tokens", r.value("step", 0.0));
      const double y = r[key].get<double>();
      if (!std::isfinite(y)) continue;
      points.push_back({x, y});
      x_min = std::min(x_min, x), x_max = std::max(x_max, x);
      y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
    series.push_back(std::move(points));
  }
  require(std::isfinite(x_min), "plot: no record has a numeric \"", key, "\"");
  if (x_max == x_min) x_max = x_min + 1;
  if (y_max == y_min) y_max = y_min + 1;
  const double pad = 0.05 * (y_max - y_min);
  y_min -= pad, y_max += pad;
  auto sx = [&](double x) { return left + (x - x_min) / (x_max - x_min) * (width - left - right); };
  auto sy = [&](double y) {
    return height - bottom - (y - y_min) / (y_max - y_min) * (height - top - bottom);
  };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
         "fill=\"white\"/>\n";
  svg << "<text x=\"" << width / 2 << "\" y=\"18\" text-anchor=\"middle\">" << escape(key)
      << " vs tokens</text>\n";
  for (int i = 0; i <= 5; ++i) {
    const double xv = x_min + (x_max - x_min) * i / 5, yv = y_min + (y_max - y_min) * i / 5;
    svg << "<line x1=\"" << sx(xv) << "\" y1=\"" << top << "\" x2=\"" << sx(xv) << "\" y2=\""
        << height - bottom << "\" stroke=\"#eee\"/><text x=\"" << sx(xv) << "\" y=\"" << height - bottom + 16
        << "\" text-anchor=\"middle\">" << fmt(xv) << "</text>\n";
    svg << "<line x1=\"" << left << "\" y1=\"" << sy(yv) << "\" x2=\"" << width - right << "\" y2=\""
        << sy(yv) << "\" stroke=\"#eee\"/><text x=\"" << left - 6 << "\" y=\"" << sy(yv) + 4
        << "\" text-anchor=\"end\">" << fmt(yv) << "</text>\n";
  }
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << width - left - right << "\" height=\""
      << height - top - bottom << "\" fill=\"none\" stroke=\"black\"/>\n";
  svg << "<text x=\"" << (left + width - right) / 2 << "\" y=\"" << height - 12
      << "\" text-anchor=\"middle\">tokens</text>\n";
  const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  for (size_t s = 0; s < series.size(); ++s) {
    const char* color = colors[s % 6];
    svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"";
    for (const auto& [x, y] : series[s]) svg << sx(x) << "," << sy(y) << " ";
    svg << "\"/>\n<text x=\"" << width - right - 8 << "\" y=\"" << top + 16 + 16 * static_cast<double>(s)
        << "\" text-anchor=\"end\" fill=\"" << color << "\">" << escape(runs[s].first) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace ratkv::train
