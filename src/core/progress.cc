#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gammaq {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Progress::Progress(std::string what, int64_t total, bool quiet, std::string unit)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      total_(std::max<int64_t>(total, 0)),
      start_(now()) {
  const char* env = std::getenv("GAMMAQ_PROGRESS");
  if (quiet || (env && std::strcmp(env, "none") == 0))
    style_ = Style::None;
  else if (env && std::strcmp(env, "bar") == 0)
    style_ = Style::Bar;
  else if (env && std::strcmp(env, "lines") == 0)
    style_ = Style::Lines;
  else
    style_ = isatty(2) ? Style::Bar : Style::Lines;
}

Progress::~Progress() {
  if (!finished_) finish(extra_);
}

std::string Progress::duration(double s) {
  char b[32];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60)
    std::snprintf(b, sizeof b, "%.1fs", s);
  else if (s < 3600)
    std::snprintf(b, sizeof b, "%d:%02d", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else
    std::snprintf(b, sizeof b, "%d:%02d:%02d", static_cast<int>(s) / 3600,
                  static_cast<int>(s) / 60 % 60, static_cast<int>(s) % 60);
  return b;
}

void Progress::update(int64_t done, const std::string& extra) {
  done_ = std::clamp<int64_t>(done, 0, total_);
  extra_ = extra;
  if (style_ != Style::Bar) return;
  const double t = now();
  if (done_ < total_ && t - last_ < 0.2) return;  // at most 5 redraws a second
  last_ = t;
  const double elapsed = t - start_;
  const double frac = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : -1;
  std::fprintf(stderr, "\r%s [%s] %3.0f%% %lld/%lld %.1f %s/s ETA %s%s%s\033[K", what_.c_str(),
               bar.c_str(), 100.0 * frac, static_cast<long long>(done_),
               static_cast<long long>(total_), rate, unit_.c_str(), duration(eta).c_str(),
               extra_.empty() ? "" : "  ", extra_.c_str());
  std::fflush(stderr);
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  if (style_ == Style::None) return;
  const double elapsed = now() - start_;
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  std::fprintf(stderr, "%s%s: %lld/%lld %s in %s (%.1f %s/s)%s%s\n",
               style_ == Style::Bar ? "\r\033[K" : "", what_.c_str(), static_cast<long long>(done_),
               static_cast<long long>(total_), unit_.c_str(), duration(elapsed).c_str(), rate,
               unit_.c_str(), extra.empty() ? "" : "; ", extra.c_str());
  std::fflush(stderr);
}

}  // namespace gammaq
