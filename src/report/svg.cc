#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace gammaq::report {
namespace {

std::string fixed(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

}  // namespace

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(double v, int digits) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[48];
  std::snprintf(b, sizeof b, "%.*g", digits, v);
  return b;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  // Integer multiples of the step, counted in double: lo / step may exceed any integer type.
  const double first = std::ceil(lo / step - 1e-9), last = std::floor(hi / step + 1e-9);
  if (!std::isfinite(first) || !std::isfinite(last) || last - first > 100) return {lo};
  std::vector<double> t;
  for (int i = 0; i <= static_cast<int>(last - first); ++i) t.push_back((first + i) * step);
  return t;
}

Chart::Chart(std::string id, std::string title, double width, double height)
    : id_(std::move(id)), title_(std::move(title)), w_(width), h_(height) {}

void Chart::x_axis(double lo, double hi, std::string label) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;  // nothing sensible to draw
  x0_ = lo;
  x1_ = hi > lo ? hi : lo + 1;
  xlabel_ = std::move(label);
}

void Chart::y_axis(double lo, double hi, std::string label, bool log) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = log ? 1 : 0, hi = log ? 10 : 1;
  logy_ = log && lo > 0;
  y0_ = lo;
  y1_ = hi > lo ? hi : lo + (logy_ ? lo : 1);
  ylabel_ = std::move(label);
}

void Chart::x_categories(std::vector<std::string> names) {
  cats_ = std::move(names);
  x0_ = -0.5;
  x1_ = static_cast<double>(std::max<size_t>(cats_.size(), 1)) - 0.5;
}

double Chart::px(double x) const { return left_ + (x - x0_) / (x1_ - x0_) * (w_ - left_ - right_); }

double Chart::py(double y) const {
  double t;
  if (logy_)
    t = (std::log10(std::max(y, y0_)) - std::log10(y0_)) / (std::log10(y1_) - std::log10(y0_));
  else
    t = (y - y0_) / (y1_ - y0_);
  t = std::clamp(t, -0.02, 1.02);
  return h_ - bottom_ - t * (h_ - top_ - bottom_);
}

void Chart::bars(const std::vector<double>& lo, const std::vector<double>& hi,
                 const std::vector<double>& height, const std::string& color,
                 const std::string& legend) {
  for (size_t i = 0; i < height.size(); ++i) {
    if (!(height[i] > 0) || !std::isfinite(height[i])) continue;
    const double x = px(lo[i]), x2 = px(hi[i]), y = py(height[i]), base = py(logy_ ? y0_ : 0.0);
    body_ += "<rect class=\"mark\" x=\"" + fixed(x) + "\" y=\"" + fixed(y) + "\" width=\"" +
             fixed(std::max(0.6, x2 - x - 0.3)) + "\" height=\"" + fixed(std::max(0.6, base - y)) +
             "\" fill=\"" + color + "\"><title>" + num(lo[i]) + " .. " + num(hi[i]) + ": " +
             num(height[i]) + "</title></rect>";
    ++marks_;
  }
  if (!legend.empty()) legend_.push_back({legend, {color, false}});
}

void Chart::line(const std::vector<double>& x, const std::vector<double>& y,
                 const std::string& color, const std::string& legend, bool dashed, bool points,
                 const std::vector<std::string>& tips) {
  std::string pts;
  std::string dots;
  auto flush = [&] {
    if (pts.empty()) return;
    body_ += "<polyline class=\"mark\" fill=\"none\" stroke=\"" + color +
             "\" stroke-width=\"1.6\"" + (dashed ? " stroke-dasharray=\"5 3\"" : "") +
             " points=\"" + pts + "\"/>";
    ++marks_;
    pts.clear();
  };
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (!std::isfinite(y[i]) || !std::isfinite(x[i]) || (logy_ && !(y[i] > 0))) {
      flush();  // a gap where there is no value
      continue;
    }
    const std::string cx = fixed(px(x[i])), cy = fixed(py(y[i]));
    pts += cx + "," + cy + " ";
    if (points) {
      dots += "<circle class=\"mark\" cx=\"" + cx + "\" cy=\"" + cy + "\" r=\"2.6\" fill=\"" +
              color + "\"><title>" +
              escape((i < tips.size() ? tips[i] + ": " : std::string()) +
                     (legend.empty() ? "" : legend + " ") + num(y[i], 4)) +
              "</title></circle>";
      ++marks_;
    }
  }
  flush();
  body_ += dots;
  if (!legend.empty()) legend_.push_back({legend, {color, dashed}});
}

void Chart::vline(double x, const std::string& color, const std::string& label, bool dashed) {
  const std::string cx = fixed(px(x));
  body_ += "<line x1=\"" + cx + "\" x2=\"" + cx + "\" y1=\"" + fixed(top_) + "\" y2=\"" +
           fixed(h_ - bottom_) + "\" stroke=\"" + color + "\" stroke-width=\"1.2\"" +
           (dashed ? " stroke-dasharray=\"4 3\"" : "") + "/><text x=\"" + cx + "\" y=\"" +
           fixed(top_ - 3) + "\" font-size=\"10\" text-anchor=\"middle\" fill=\"" + color + "\">" +
           escape(label) + "</text>";
}

void Chart::hline(double y, const std::string& color, const std::string& label, bool dashed) {
  const std::string cy = fixed(py(y));
  body_ += "<line x1=\"" + fixed(left_) + "\" x2=\"" + fixed(w_ - right_) + "\" y1=\"" + cy +
           "\" y2=\"" + cy + "\" stroke=\"" + color + "\" stroke-width=\"1.2\"" +
           (dashed ? " stroke-dasharray=\"4 3\"" : "") + "/><text x=\"" + fixed(w_ - right_ - 2) +
           "\" y=\"" + fixed(py(y) - 3) + "\" font-size=\"10\" text-anchor=\"end\" fill=\"" +
           color + "\">" + escape(label) + "</text>";
}

void Chart::x_ticks(const std::vector<double>& xs, const std::string& color) {
  const double y = h_ - bottom_;
  for (double x : xs) {
    if (x < x0_ || x > x1_) continue;
    const std::string cx = fixed(px(x));
    body_ += "<line x1=\"" + cx + "\" x2=\"" + cx + "\" y1=\"" + fixed(y) + "\" y2=\"" +
             fixed(y - 6) + "\" stroke=\"" + color + "\" stroke-width=\"1\"/>";
  }
}

std::string Chart::html(const std::string& caption, const std::string& cls) const {
  const double pl = left_, pr = w_ - right_, pt = top_, pb = h_ - bottom_;
  std::string s = "<figure class=\"" + cls + "\" id=\"" + escape(id_) + "\"><svg xmlns=\"" +
                  "http://www.w3.org/2000/svg\" viewBox=\"0 0 " + fixed(w_) + " " + fixed(h_) +
                  "\" width=\"" + fixed(w_) + "\" height=\"" + fixed(h_) +
                  "\" role=\"img\"><title>" + escape(title_) + "</title>";
  s += "<text x=\"" + fixed(w_ / 2) +
       "\" y=\"16\" font-size=\"12.5\" font-weight=\"600\" "
       "text-anchor=\"middle\">" +
       escape(title_) + "</text>";
  // Grid and ticks.
  s += "<g font-size=\"10\" fill=\"#444\">";
  std::vector<double> yt;
  if (logy_) {
    for (double d = std::floor(std::log10(y0_)); d <= std::ceil(std::log10(y1_)); d += 1)
      if (std::pow(10.0, d) >= y0_ * 0.999 && std::pow(10.0, d) <= y1_ * 1.001)
        yt.push_back(std::pow(10.0, d));
  } else {
    yt = nice_ticks(y0_, y1_, 5);
  }
  for (double v : yt) {
    const std::string y = fixed(py(v));
    s += "<line x1=\"" + fixed(pl) + "\" x2=\"" + fixed(pr) + "\" y1=\"" + y + "\" y2=\"" + y +
         "\" stroke=\"#e3e3e3\"/><text x=\"" + fixed(pl - 4) + "\" y=\"" + y +
         "\" dy=\"3\" text-anchor=\"end\">" + num(v) + "</text>";
  }
  bool short_names = !cats_.empty() && cats_.size() <= 8;
  for (const std::string& c : cats_) short_names = short_names && c.size() <= 12;
  if (short_names) {
    for (size_t i = 0; i < cats_.size(); ++i)
      s += "<text x=\"" + fixed(px(static_cast<double>(i))) + "\" y=\"" + fixed(pb + 13) +
           "\" text-anchor=\"middle\">" + escape(cats_[i]) + "</text>";
  } else if (!cats_.empty()) {
    const size_t every = std::max<size_t>(1, (cats_.size() + 11) / 12);
    for (size_t i = 0; i < cats_.size(); i += every)
      s += "<text x=\"" + fixed(px(static_cast<double>(i))) + "\" y=\"" + fixed(pb + 13) +
           "\" text-anchor=\"middle\">" + std::to_string(i) + "</text>";
  } else {
    for (double v : nice_ticks(x0_, x1_, 6))
      s += "<text x=\"" + fixed(px(v)) + "\" y=\"" + fixed(pb + 13) + "\" text-anchor=\"middle\">" +
           num(v) + "</text>";
  }
  s += "</g>";
  s += "<rect x=\"" + fixed(pl) + "\" y=\"" + fixed(pt) + "\" width=\"" + fixed(pr - pl) +
       "\" height=\"" + fixed(pb - pt) + "\" fill=\"none\" stroke=\"#888\"/>";
  s += "<text x=\"" + fixed((pl + pr) / 2) + "\" y=\"" + fixed(h_ - 8) +
       "\" font-size=\"11\" text-anchor=\"middle\">" + escape(xlabel_) + "</text>";
  s += "<text transform=\"translate(13 " + fixed((pt + pb) / 2) +
       ") rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">" + escape(ylabel_) + "</text>";
  s += body_;
  // Legend, top right inside the plot.
  double ly = pt + 12;
  if (!legend_.empty())
    s += "<rect x=\"" + fixed(pr - 154) + "\" y=\"" + fixed(pt + 2) + "\" width=\"152\" height=\"" +
         fixed(13.0 * static_cast<double>(legend_.size()) + 3) +
         "\" fill=\"#fff\" fill-opacity=\"0.85\"/>";
  for (const auto& [name, style] : legend_) {
    const double lx = pr - 150;
    s += "<line x1=\"" + fixed(lx) + "\" x2=\"" + fixed(lx + 18) + "\" y1=\"" + fixed(ly - 4) +
         "\" y2=\"" + fixed(ly - 4) + "\" stroke=\"" + style.first + "\" stroke-width=\"3\"" +
         (style.second ? " stroke-dasharray=\"5 3\"" : "") + "/><text x=\"" + fixed(lx + 22) +
         "\" y=\"" + fixed(ly) + "\" font-size=\"10.5\">" + escape(name) + "</text>";
    ly += 13;
  }
  s += "</svg><figcaption>" + caption + "</figcaption></figure>\n";
  return s;
}

}  // namespace gammaq::report
