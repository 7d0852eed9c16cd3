#include "eval/progress.h"

#include <unistd.h>

namespace ratkv::eval {

Progress::Progress(int64_t total, std::FILE* out)
    : total_(total),
      out_(out),
      tty_(out && isatty(fileno(out))),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

std::string Progress::format_seconds(double s) {
  const int64_t t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", (long long)(t / 3600), (long long)(t % 3600 / 60));
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)(t / 60), (long long)(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", (long long)t);
  return buf;
}

void Progress::advance(int64_t n) {
  done_ += n;
  draw(false);
}

void Progress::draw(bool force) {
  if (!out_ || total_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (!force && since_last < (tty_ ? 0.2 : 30.0) && done_ < total_) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta =
      done_ > 0 ? elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_) : 0.0;
  const int width = 30;
  const int filled = static_cast<int>(width * done_ / total_);
  std::string bar(static_cast<size_t>(filled), '=');
  bar += std::string(static_cast<size_t>(width - filled), ' ');
  std::fprintf(
      out_, "%s[%s] %lld/%lld cells %5.1f%%  elapsed %s  ETA %s%s", tty_ ? "\r" : "", bar.c_str(),
      (long long)done_, (long long)total_, 100.0 * static_cast<double>(done_) / static_cast<double>(total_),
      format_seconds(elapsed).c_str(), done_ > 0 ? format_seconds(eta).c_str() : "?", tty_ ? "" : "\n");
  std::fflush(out_);
}

void Progress::finish() {
  draw(true);
  if (tty_ && out_) std::fputc('\n', out_);
}

}  // namespace ratkv::eval
