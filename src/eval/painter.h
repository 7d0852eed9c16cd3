#pragma once
// Two-dimensional drawing for the report's charts, behind one interface so a chart is laid out once and drawn
// both as SVG (text) and into an RGB raster (for PNG). The raster painter has an embedded 5x8 bitmap font
// (printable ASCII) scaled by whole pixels, and draws lines as round-capped strokes without antialiasing.
#include <cstdint>
#include <string>
#include <vector>

namespace ratkv::eval {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
  std::string hex() const;
};

enum class Anchor { Start, Middle, End };

class Painter {
 public:
  virtual ~Painter() = default;
  virtual void line(double x0, double y0, double x1, double y1, Color c, double width, bool dashed) = 0;
  virtual void marker(double x, double y, double radius, Color c, bool square) = 0;
  // Text whose baseline-left (Start), centre or right end is at (x, y); size is the glyph height in px.
  virtual void text(double x, double y, const std::string& s, double size, Anchor anchor, Color c,
                    bool vertical = false) = 0;
};

class SvgPainter final : public Painter {
 public:
  SvgPainter(int width, int height);
  void line(double x0, double y0, double x1, double y1, Color c, double width, bool dashed) override;
  void marker(double x, double y, double radius, Color c, bool square) override;
  void text(double x, double y, const std::string& s, double size, Anchor anchor, Color c,
            bool vertical) override;
  std::string finish();

 private:
  std::string body_;
  int width_, height_;
};

class RasterPainter final : public Painter {
 public:
  RasterPainter(int width, int height, Color background = {255, 255, 255});
  void line(double x0, double y0, double x1, double y1, Color c, double width, bool dashed) override;
  void marker(double x, double y, double radius, Color c, bool square) override;
  void text(double x, double y, const std::string& s, double size, Anchor anchor, Color c,
            bool vertical) override;
  const std::vector<uint8_t>& rgb() const { return rgb_; }
  int width() const { return width_; }
  int height() const { return height_; }
  // Whether pixel (x, y) differs from the background (tests).
  bool inked(int x, int y) const;

 private:
  void set(int x, int y, Color c);
  void disc(double cx, double cy, double r, Color c);
  int width_, height_;
  Color background_;
  std::vector<uint8_t> rgb_;
};

// Escapes &, <, >, " for XML text and attributes.
std::string xml_escape(const std::string& s);

}  // namespace ratkv::eval
