// Progress of a long stage on stderr (never stdout, which --json keeps clean). On a terminal: a
// bar redrawn in place, with the rate and the time left; otherwise one line when the stage ends
// (logs stay short and diffable); nothing when quiet. GAMMAQ_PROGRESS=bar|lines|none overrides
// the terminal test. No packaged C++ progress-bar library exists in Debian bookworm (only Go,
// Perl, Haskell and Python ones), hence this small class.
#pragma once

#include <cstdint>
#include <string>

namespace gammaq {

class Progress {
 public:
  // `total` steps of `unit` ("images", "candidates", "steps").
  Progress(std::string what, int64_t total, bool quiet, std::string unit = "images");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` of total so far; `extra` is shown after the bar (the current item, a metric).
  void update(int64_t done, const std::string& extra = "");
  // Ends the stage: the terminal line is completed, or the one line is printed. Called by the
  // destructor when the caller did not.
  void finish(const std::string& extra = "");

  // "1:05", "12.3s": the short durations the bar shows.
  [[nodiscard]] static std::string duration(double seconds);

 private:
  enum class Style { Bar, Lines, None };
  std::string what_, unit_;
  int64_t total_, done_ = 0;
  Style style_;
  double start_, last_ = -1.0;
  bool finished_ = false;
  std::string extra_;
};

}  // namespace gammaq
