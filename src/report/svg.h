// A small SVG chart writer for report.html: axes with ticks, units and a title, bars, lines,
// markers and a legend, written as one <figure class="gq-figure"> (the browser test's
// convention: every data element carries class "mark").
#pragma once

#include <string>
#include <vector>

namespace gammaq::report {

// Escapes & < > " ' for HTML text and attributes.
[[nodiscard]] std::string escape(const std::string& s);
// %.*g with `digits` significant digits ("-" for NaN, "inf" for infinities).
[[nodiscard]] std::string num(double v, int digits = 3);
// About `target` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten).
[[nodiscard]] std::vector<double> nice_ticks(double lo, double hi, int target = 5);

inline constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                           "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
[[nodiscard]] inline const char* palette(size_t i) { return kPalette[i % 10]; }

class Chart {
 public:
  Chart(std::string id, std::string title, double width = 560, double height = 280);

  // Axis ranges (y: log10 scale when `log`, lo > 0) and labels with units.
  void x_axis(double lo, double hi, std::string label);
  void y_axis(double lo, double hi, std::string label, bool log = false);
  // Integer x positions 0..n-1 labelled by name (every k-th label shown; all in tooltips).
  void x_categories(std::vector<std::string> names);

  // Data. `tip` texts become hover tooltips (<title>).
  void bars(const std::vector<double>& lo, const std::vector<double>& hi,
            const std::vector<double>& height, const std::string& color,
            const std::string& legend = "");
  void line(const std::vector<double>& x, const std::vector<double>& y, const std::string& color,
            const std::string& legend, bool dashed = false, bool points = true,
            const std::vector<std::string>& tips = {});
  // A vertical / horizontal reference line across the plot, labelled at its end.
  void vline(double x, const std::string& color, const std::string& label, bool dashed = true);
  void hline(double y, const std::string& color, const std::string& label, bool dashed = true);
  // Short ticks along the x axis (e.g. a quantizer's levels); not data.
  void x_ticks(const std::vector<double>& xs, const std::string& color);

  [[nodiscard]] double px(double x) const;
  [[nodiscard]] double py(double y) const;
  [[nodiscard]] bool empty() const { return marks_ == 0; }

  // <figure class="`cls`" id=...> with the SVG and `caption`.
  [[nodiscard]] std::string html(const std::string& caption,
                                 const std::string& cls = "gq-figure") const;

 private:
  std::string id_, title_;
  double w_, h_, left_ = 62, right_ = 14, top_ = 30, bottom_ = 46;
  double x0_ = 0, x1_ = 1, y0_ = 0, y1_ = 1;
  bool logy_ = false;
  std::string xlabel_, ylabel_;
  std::vector<std::string> cats_;
  std::string body_;
  std::vector<std::pair<std::string, std::pair<std::string, bool>>> legend_;
  int marks_ = 0;
};

}  // namespace gammaq::report
