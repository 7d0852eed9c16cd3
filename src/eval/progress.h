#pragma once
// A progress line with rate and ETA: redrawn in place on a terminal, printed every ~30 s otherwise (logs).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ratkv::eval {

class Progress {
 public:
  Progress(int64_t total, std::FILE* out = stderr);
  void advance(int64_t n = 1);
  void finish();
  static std::string format_seconds(double s);  // "1h02m", "3m05s", "12s"

 private:
  void draw(bool force);
  int64_t total_, done_ = 0;
  std::FILE* out_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace ratkv::eval
