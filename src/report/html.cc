#include "report/html.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "gammaq/error.h"
#include "report/svg.h"

namespace gammaq::report {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::optional<Json> read_json(const std::string& path, ReportInputs& in) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorKind::Io, str_cat(path, ": cannot be read"));
  std::stringstream text;
  text << f.rdbuf();
  Json j = Json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(ErrorKind::InvalidData,
                str_cat(path, ": not a JSON object (corrupt or truncated)"));
  in.files.push_back(fs::path(path).filename().string());
  return j;
}

// Checks that `j[key]` exists with the given type; names the file and the field otherwise.
void require(const Json& j, const std::string& path, const char* key, Json::value_t type) {
  auto it = j.find(key);
  const bool ok = it != j.end() &&
                  (it->type() == type || (type == Json::value_t::number_float && it->is_number()));
  if (!ok)
    throw Error(ErrorKind::InvalidData,
                str_cat(path, ": field \"", key, "\" is missing or of the wrong type"));
}

double dbl(const Json& j, const char* key, double fallback = kNaN) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}
std::string text(const Json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->is_string() ? it->get<std::string>() : it->dump();
}
const Json* child(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && !it->is_null() ? &*it : nullptr;
}

std::string pct(double v, int decimals = 2) {
  if (!std::isfinite(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, 100.0 * v);
  return b;
}
std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}
std::string with_commas(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return v < 0 ? "-" + out : out;
}
std::string shape_text(const Json* s) {
  if (!s || !s->is_array()) return "";
  std::string out;
  for (const auto& d : *s) out += (out.empty() ? "" : "&times;") + d.dump();
  return out;
}
// "s8 FL5" / "u4 FL-1" / "u4 thr" (threshold table).
std::string format_text(const Json* f) {
  if (!f || !f->is_object()) return "float";
  std::string s = (f->value("signed", true) ? "s" : "u") + f->value("bits", Json(0)).dump();
  if (f->value("accumulator", false)) return "acc (32)";
  if (f->contains("frac")) s += " FL" + (*f)["frac"].dump();
  if (f->contains("frac_min") && f->contains("frac_max"))
    s = s.substr(0, s.find(" FL")) + " FL" + (*f)["frac_min"].dump() + ".." +
        (*f)["frac_max"].dump();
  if (f->value("threshold", false)) s += " thr";
  return s;
}
std::string slug(const std::string& name) {
  std::string s;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return s;
}

// ln of the one-sided density 2 mu x^beta exp(-lambda x^alpha) (ALGORITHMS.md 4.1), mu from
// its normalisation so that huge shapes do not overflow.
double ggd_log_density(double x, double alpha, double beta, double lambda) {
  const double k = (beta + 1.0) / alpha;
  return std::log(alpha) + k * std::log(lambda) - std::lgamma(k) + beta * std::log(x) -
         lambda * std::pow(x, alpha);
}

// The levels mn, mn + step, ..., mx of a uniform format when there are at most 64 (tick marks);
// none otherwise.
std::vector<double> grid_levels(double mn, double mx, double step) {
  const double n = std::floor((mx - mn) / step + 0.5);
  if (!(step > 0) || !std::isfinite(n) || n < 0 || n > 63) return {};
  std::vector<double> v;
  for (int k = 0; k <= static_cast<int>(n); ++k) v.push_back(mn + k * step);
  return v;
}

struct Tables {
  std::map<std::string, const Json*> tensor_diag;  // by tensor name
  std::map<std::string, const Json*> layer_diag;   // by node name
  std::map<std::string, const Json*> plan_act;     // quant.json activations by tensor name
};

// --- sections ----------------------------------------------------------------------------

std::string run_section(const ReportInputs& in) {
  const Json& s = *in.summary;
  std::ostringstream o;
  o << "<section id=\"run\"><h2>The run</h2><table class=\"kv\">";
  auto row = [&](const std::string& k, const std::string& v) {
    o << "<tr><th>" << escape(k) << "</th><td>" << v << "</td></tr>";
  };
  row("model", escape(text(s, "model")));
  if (s.contains("command")) row("command", "<code>" + escape(text(s, "command")) + "</code>");
  row("feature-map method",
      escape(text(s, "method")) + " (" + escape(text(s, "mode", "default")) + " mode)");
  row("bit widths", "weights " + text(s, "wbits") + ", feature maps " + text(s, "abits") +
                        ", biases " + escape(text(s, "bbits", "acc")));
  row("granularity / rounding",
      escape(text(s, "granularity", "layer")) + " / " + escape(text(s, "rounding", "half_even")));
  row("tuning", escape(text(s, "tune", "none")));
  row("calibration images", text(s, "calibration_images", "-"));
  o << "</table>";
  const Json* fa = child(s, "float");
  const Json* qa = child(s, "quantized");
  if (fa && qa && qa->value("images", 0) > 0) {
    o << "<table class=\"acc\"><tr><th></th><th>top-1 %</th><th>top-5 %</th><th>images</th>"
         "<th>tied top score</th></tr>";
    for (auto [name, a] : {std::pair{"float", fa}, std::pair{"quantized", qa}})
      o << "<tr><th>" << name << "</th><td>" << pct(dbl(*a, "top1")) << "</td><td>"
        << pct(dbl(*a, "top5")) << "</td><td>" << text(*a, "images") << "</td><td>"
        << text(*a, "tied_top1", "-") << "</td></tr>";
    o << "<tr><th>loss</th><td>" << fixed(100 * (dbl(*fa, "top1") - dbl(*qa, "top1")), 2)
      << " points</td><td>" << fixed(100 * (dbl(*fa, "top5") - dbl(*qa, "top5")), 2)
      << " points</td><td></td><td></td></tr></table>";
    if (qa->value("tied_top1", 0) > 0)
      o << "<p class=\"note\">" << text(*qa, "tied_top1")
        << " images had a tied top score in the quantized network: ties are ranked by the "
           "lower class index (ONNX ArgMax), so they, not the formats alone, decide part of "
           "the top-1.</p>";
  } else if (!child(s, "agreement")) {
    o << "<p class=\"note\">No scored accuracy: quantize ran without --test or --val.</p>";
  }
  // The label-free scores: every output against the float model's.
  if (const Json* ag = child(s, "agreement"); ag && ag->is_object()) {
    o << "<table class=\"acc\"><tr><th>output (against float)</th><th>shape</th>"
         "<th>SQNR dB</th><th>top-1 agreement %</th><th>mean IoU %</th></tr>";
    for (const Json& out : ag->value("outputs", Json::array())) {
      std::string shape;
      for (const Json& d : out.value("shape", Json::array())) {
        if (!shape.empty()) shape += 'x';
        shape += d.dump();
      }
      const Json sq = out.value("sqnr_db", Json());
      o << "<tr><th>" << escape(text(out, "name")) << "</th><td>" << shape << "</td><td>"
        << (sq.is_number() ? fixed(sq.get<double>(), 2) : std::string("equal")) << "</td><td>"
        << (out.contains("top1_agreement") ? pct(dbl(out, "top1_agreement")) : "-") << "</td><td>"
        << (out.contains("miou") ? pct(dbl(out, "miou")) : "-") << "</td></tr>";
    }
    o << "</table><p class=\"note\">" << text(*ag, "images")
      << " images scored against the float model (no labels needed).</p>";
  }
  if (const Json* sec = child(s, "seconds"); sec && sec->is_object()) {
    std::vector<std::string> names;
    std::vector<double> lo, hi, v;
    for (const auto& [k, t] : sec->items()) {
      names.push_back(k);
      lo.push_back(static_cast<double>(names.size()) - 1.4);
      hi.push_back(static_cast<double>(names.size()) - 0.6);
      v.push_back(t.is_number() ? t.get<double>() : 0.0);
    }
    Chart c("stage-seconds", "Time per stage", 420, 220);
    c.x_categories(names);
    c.y_axis(0, std::max(1e-3, *std::max_element(v.begin(), v.end())) * 1.1, "seconds");
    c.bars(lo, hi, v, palette(0));
    std::string cap = "Wall time of each stage: ";
    for (size_t i = 0; i < names.size(); ++i)
      cap += (i ? ", " : "") + std::to_string(i) + " = " + names[i] + " " + fixed(v[i], 2) + " s";
    o << c.html(escape(cap));
  }
  if (const Json* w = child(s, "warnings"); w && w->is_array() && !w->empty()) {
    o << "<h3>Warnings</h3><ul class=\"warn\">";
    for (const auto& x : *w)
      o << "<li>" << escape(x.is_string() ? x.get<std::string>() : x.dump()) << "</li>";
    o << "</ul>";
  }
  o << "</section>\n";
  return o.str();
}

std::string layer_table(const ReportInputs& in, const Tables& t) {
  const Json& s = *in.summary;
  std::ostringstream o;
  o << "<section id=\"layers\"><h2>Layers</h2>";
  if (!in.diagnostics)
    o << "<p class=\"note\">No diagnostics.json in this folder: shapes, MACs, isolated and "
         "cumulative SQNR, saturation and accumulator widths need one (<code>gammaq quantize "
         "--report</code>, or <code>gammaq report DIR --data SPEC</code>).</p>";
  else
    o << "<p>Measured on " << text(*in.diagnostics, "images") << " images of <code>"
      << escape(text(*in.diagnostics, "data")) << "</code>. SQNR <em>local</em>: this "
      << "tensor's quantizer on the calibration data (what the method optimised); "
      << "<em>isolated</em>: only this tensor rounded, on the float network; "
      << "<em>cumulative</em>: the fully quantized network against the float one. "
      << "Saturation: share of the tensor's values beyond its format's range. Accumulator: "
      << "the widest accumulator value seen / the widest the formats allow, in bits, against "
      << "the 32-bit register.</p>";
  o << "<div class=\"scroll\"><table class=\"layers\"><thead><tr><th>#</th><th>layer</th>"
       "<th>op</th><th>in &rarr; out</th><th>MACs</th><th>weights</th><th>W SQNR dB</th>"
       "<th>bias</th><th>output</th><th>local dB</th><th>isolated dB</th><th>cumulative dB</th>"
       "<th>saturated %</th><th>zeros %</th><th>accumulator bits</th></tr></thead><tbody>";
  int i = 0;
  for (const auto& l : s.value("layers", Json::array())) {
    const std::string name = text(l, "name");
    const Json* out = child(l, "output");
    const std::string out_name = out ? text(*out, "name", name) : "";
    const Json* ld = t.layer_diag.count(name) ? t.layer_diag.at(name) : nullptr;
    const Json* td = t.tensor_diag.count(out_name) ? t.tensor_diag.at(out_name) : nullptr;
    if (!td && t.tensor_diag.count(name)) td = t.tensor_diag.at(name);  // the input row
    std::string io, macs, acc;
    if (ld) {
      io = shape_text(child(*ld, "input_shape")) + " &rarr; " +
           shape_text(child(*ld, "output_shape"));
      macs = with_commas(ld->value("macs", int64_t{0}));
      if (const Json* a = child(*ld, "accumulator")) {
        const int bound = a->value("bound_bits", 0);
        const std::string obs = a->contains("observed_bits") && (*a)["observed_bits"].is_number()
                                    ? (*a)["observed_bits"].dump()
                                    : "-";
        acc = std::string(bound > 32 ? "<span class=\"bad\">" : "<span>") + obs + " / " +
              std::to_string(bound) + "</span>";
      }
    } else if (td) {
      io = shape_text(child(*td, "shape"));
    }
    const Json* w = child(l, "weight");
    o << "<tr><td>" << i++ << "</td><td class=\"name\">" << escape(name) << "</td><td>"
      << escape(text(l, "op")) << "</td><td>" << io << "</td><td class=\"r\">" << macs
      << "</td><td>" << (w ? format_text(w) : "") << "</td><td class=\"r\">"
      << (w ? fixed(dbl(*w, "sqnr_db"), 1) : "") << "</td><td>"
      << (child(l, "bias") ? format_text(child(l, "bias")) : "") << "</td><td>"
      << (out ? format_text(out) : "") << "</td><td class=\"r\">"
      << (out ? fixed(dbl(*out, "sqnr_db"), 1) : "") << "</td><td class=\"r\">"
      << (td ? fixed(dbl(*td, "sqnr_isolated_db"), 1) : "") << "</td><td class=\"r\">"
      << (td ? fixed(dbl(*td, "sqnr_cumulative_db"), 1) : "") << "</td><td class=\"r\">";
    const double sat = td ? dbl(*td, "saturation") : kNaN;
    o << (sat > 0.01 ? "<span class=\"bad\">" + pct(sat, 3) + "</span>" : pct(sat, 3))
      << "</td><td class=\"r\">" << (td ? pct(dbl(*td, "zero_fraction"), 1) : "")
      << "</td><td class=\"r\">" << acc << "</td></tr>";
  }
  o << "</tbody></table></div>";

  // SQNR per layer (the paper's Figure 8 for this plan).
  std::vector<std::string> names;
  std::vector<double> x, local, iso, cum, wsq;
  for (const auto& l : s.value("layers", Json::array())) {
    const Json* out = child(l, "output");
    if (!out) continue;
    const std::string tn = text(*out, "name", text(l, "name"));
    const Json* td = t.tensor_diag.count(tn) ? t.tensor_diag.at(tn) : nullptr;
    names.push_back(tn);
    x.push_back(static_cast<double>(x.size()));
    local.push_back(dbl(*out, "sqnr_db"));
    iso.push_back(td ? dbl(*td, "sqnr_isolated_db") : kNaN);
    cum.push_back(td ? dbl(*td, "sqnr_cumulative_db") : kNaN);
    const Json* w = child(l, "weight");
    wsq.push_back(w ? dbl(*w, "sqnr_db") : kNaN);
  }
  double lo = 0, hi = 10;
  for (const auto* v : {&local, &iso, &cum, &wsq})
    for (double d : *v)
      if (std::isfinite(d)) lo = std::min(lo, d), hi = std::max(hi, d);
  if (!names.empty()) {
    Chart c("sqnr-per-layer", "SQNR per feature map, in graph order", 860, 300);
    c.x_categories(names);
    c.y_axis(std::floor(lo / 5) * 5, std::ceil(hi / 5) * 5 + 5, "SQNR (dB, higher is better)");
    c.line(x, local, palette(0), "local (calibration)", false, true, names);
    if (in.diagnostics) {
      c.line(x, iso, palette(2), "isolated", true, true, names);
      c.line(x, cum, palette(1), "cumulative", false, true, names);
    }
    c.line(x, wsq, palette(4), "weights", true, true, names);
    std::string cap =
        "SQNR = 10 log10(&Sigma;x&sup2; / &Sigma;(x &minus; x&#770;)&sup2;) of each feature map "
        "(x axis: tensor index, names in the table above and in the tooltips). The gap between "
        "isolated and cumulative is the error carried in from upstream layers.";
    o << c.html(cap);
  }
  o << "</section>\n";
  return o.str();
}

// One feature map's histogram with its fitted density and its format's clipping and grid.
std::string histogram_figure(const Json& td, const Json* act, bool log, const std::string& cls) {
  const std::string name = text(td, "name");
  const Json* h = child(td, "histogram");
  if (!h) return "";
  const double lo = dbl(*h, "lo"), hi = dbl(*h, "hi");
  const auto counts = (*h).value("counts", std::vector<int64_t>{});
  if (counts.empty()) return "";
  int64_t nonzero = 0, positive = 0, negative = 0;
  const double width = (hi - lo) / static_cast<double>(counts.size());
  for (size_t k = 0; k < counts.size(); ++k) {
    nonzero += counts[k];
    (lo + (static_cast<double>(k) + 0.5) * width > 0 ? positive : negative) += counts[k];
  }
  const Json* fmt = child(td, "format");
  double x0 = lo, x1 = hi;
  if (fmt) {
    x1 = std::max(x1, dbl(*fmt, "max", x1));
    if (lo < 0) x0 = std::min(x0, dbl(*fmt, "min", x0));
  }
  if (!(x1 > x0)) x1 = x0 + 1;
  std::vector<double> bl, bh, dens;
  double top = 0, bottom = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < counts.size(); ++k) {
    bl.push_back(lo + static_cast<double>(k) * width);
    bh.push_back(lo + static_cast<double>(k + 1) * width);
    const double d = nonzero && width > 0
                         ? static_cast<double>(counts[k]) / (static_cast<double>(nonzero) * width)
                         : 0;
    dens.push_back(d);
    top = std::max(top, d);
    if (d > 0) bottom = std::min(bottom, d);
  }
  // The fitted density of the non-zero values (each side weighted by its share).
  std::vector<double> fx, fy;
  std::string fit_text;
  if (act) {
    const Json* fit = child(*act, "fit");
    if (fit && fit->contains("alpha") && nonzero > 0) {
      auto side = [&](const std::string& p, bool neg, double share) {
        const double a = dbl(*fit, (p + "alpha").c_str()), b = dbl(*fit, (p + "beta").c_str()),
                     l = dbl(*fit, (p + "lambda").c_str());
        if (!(a > 0) || !(l > 0) || !(b > -1)) return;
        const double end = neg ? -x0 : x1;
        for (int k = 1; k <= 120; ++k) {
          const double m = end * k / 120.0;
          const double y = share * std::exp(ggd_log_density(m, a, b, l));
          if (!std::isfinite(y)) continue;
          fx.push_back(neg ? -m : m);
          fy.push_back(std::min(y, top * 4));
        }
        fit_text += (fit_text.empty() ? "" : "; ") + std::string(neg ? "negative side " : "") +
                    "&alpha;=" + num(a) + ", &beta;=" + num(b) + ", &lambda;=" + num(l);
      };
      if (fit->contains("neg_alpha") && negative > 0) {
        side("neg_", true, static_cast<double>(negative) / static_cast<double>(nonzero));
        std::reverse(fx.begin(), fx.end());
        std::reverse(fy.begin(), fy.end());
      }
      side("", false, static_cast<double>(positive) / static_cast<double>(nonzero));
    }
  }
  Chart c(std::string(log ? "hist-log-" : "hist-") + slug(name), name, 420, 250);
  c.x_axis(x0, x1, "value (zeros excluded)");
  if (log)
    c.y_axis(std::isfinite(bottom) ? bottom / 2 : 1e-6, top * 2, "density (log)", true);
  else
    c.y_axis(0, top * 1.15 + 1e-12, "density");
  c.bars(bl, bh, dens, "#9ecae1", "calibration values");
  if (!fx.empty()) c.line(fx, fy, palette(1), "fitted GGD", false, false);
  std::string cap = "<b>" + escape(name) + "</b>: " + pct(dbl(td, "zero_fraction"), 1) +
                    "% exact zeros (not drawn)";
  if (fmt) {
    const double step = dbl(*fmt, "step"), mx = dbl(*fmt, "max"), mn = dbl(*fmt, "min");
    c.vline(mx, "#d62728", "clip " + num(mx));
    if (lo < 0 && mn < 0) c.vline(mn, "#d62728", "clip " + num(mn));
    std::vector<double> grid;
    if (const Json* lv = child(*fmt, "levels")) {
      grid = lv->get<std::vector<double>>();
    } else {
      grid = grid_levels(mn, mx, step);
    }
    c.x_ticks(grid, "#333");
    cap += "; format " + format_text(fmt) + ", step " + num(step) + ", range [" + num(mn) + ", " +
           num(mx) + "]";
    if (!grid.empty()) cap += " (ticks: the " + std::to_string(grid.size()) + " levels)";
    cap += "; saturated " + pct(dbl(td, "saturation"), 3) + "%";
    if (act) cap += "; method " + escape(text(*act, "method"));
  } else {
    cap += "; float (not quantized)";
  }
  if (!fit_text.empty()) cap += "; fit " + fit_text;
  return c.html(cap, cls);
}

std::string weight_figure(const Json& ld) {
  const Json* w = child(ld, "weight");
  if (!w) return "";
  const Json* h = child(*w, "histogram");
  if (!h) return "";
  const double lo = dbl(*h, "lo"), hi = dbl(*h, "hi");
  const auto counts = h->value("counts", std::vector<int64_t>{});
  if (counts.empty() || !(hi > lo)) return "";
  int64_t total = 0;
  for (int64_t n : counts) total += n;
  const double width = (hi - lo) / static_cast<double>(counts.size());
  std::vector<double> bl, bh, dens;
  double top = 0;
  for (size_t k = 0; k < counts.size(); ++k) {
    bl.push_back(lo + static_cast<double>(k) * width);
    bh.push_back(lo + static_cast<double>(k + 1) * width);
    dens.push_back(total ? static_cast<double>(counts[k]) / (static_cast<double>(total) * width)
                         : 0);
    top = std::max(top, dens.back());
  }
  const std::string name = text(ld, "name");
  const double mn = dbl(*w, "min"), mx = dbl(*w, "max"), step = dbl(*w, "step");
  const bool per_channel = w->contains("frac_min");
  Chart c("weights-" + slug(name), name + " weights", 420, 250);
  c.x_axis(std::min(lo, per_channel ? lo : mn), std::max(hi, per_channel ? hi : mx),
           "weight value");
  c.y_axis(0, top * 1.15 + 1e-12, "density");
  c.bars(bl, bh, dens, "#a1d99b", "weights");
  std::string cap =
      "<b>" + escape(name) + "</b>: " + with_commas(total) + " weights, format " + format_text(w);
  if (!per_channel) {
    c.vline(mx, "#d62728", "clip " + num(mx));
    c.vline(mn, "#d62728", "clip " + num(mn));
    if (const std::vector<double> grid = grid_levels(mn, mx, step); !grid.empty()) {
      c.x_ticks(grid, "#333");
      cap += " (ticks: its " + std::to_string(grid.size()) + " levels)";
    }
    cap += ", step " + num(step);
  } else {
    cap += " (one fractional length per output channel)";
  }
  if (w->value("codebooks", 0) > 0)
    cap += "; " + text(*w, "codebooks") + " non-uniform codebook(s) on this grid";
  return c.html(cap);
}

std::string distributions_section(const ReportInputs& in, const Tables& t) {
  if (!in.diagnostics) return "";
  std::ostringstream o;
  o << "<section id=\"feature-maps\"><h2>Feature-map distributions</h2>"
       "<p>Each feature map's values on the diagnostic images (exact zeros excluded, as the GGD "
       "fit excludes them), the fitted generalized gamma density where the method fits one, "
       "and the chosen format: red dashed lines at the clipping levels, ticks at the "
       "quantizer's levels when there are at most 64 of them.</p>"
       "<input type=\"checkbox\" id=\"logy\" class=\"toggle\"><label for=\"logy\"> log-scale "
       "density</label><div class=\"grid lin\">";
  std::string logs;
  for (const auto& td : (*in.diagnostics)["tensors"]) {
    const std::string name = text(td, "name");
    const Json* act = t.plan_act.count(name) ? t.plan_act.at(name) : nullptr;
    o << histogram_figure(td, act, false, "gq-figure");
    logs += histogram_figure(td, act, true, "gq-figure-alt");
  }
  o << "</div><div class=\"grid log\">" << logs << "</div></section>\n";
  o << "<section id=\"weights\"><h2>Weight distributions</h2><div class=\"grid\">";
  for (const auto& ld : (*in.diagnostics)["layers"]) o << weight_figure(ld);
  o << "</div></section>\n";
  return o.str();
}

std::string tuning_section(const ReportInputs& in) {
  const Json* tuning = child(*in.summary, "tuning");
  if (!tuning || !tuning->is_array() || tuning->empty()) return "";
  std::ostringstream o;
  o << "<section id=\"tuning\"><h2>Backward-forward tuning</h2>";
  int k = 0;
  for (const auto& tr : *tuning) {
    const std::string what = text(tr, "what");
    o << "<p>" << escape(what) << ": validation top-1 " << pct(dbl(tr, "top1_before"))
      << "% &rarr; " << pct(dbl(tr, "top1_after")) << "% on " << text(tr, "validation_images")
      << " images, " << text(tr, "evaluations") << " evaluations in "
      << fixed(dbl(tr, "seconds"), 1) << " s.</p>";
    const Json* trace = child(tr, "trace");
    if (!trace || trace->empty()) {
      o << "<p class=\"note\">No step changed anything.</p>";
      continue;
    }
    std::vector<std::string> names;
    std::vector<double> x, before, after, metric;
    for (const auto& st : *trace) {
      names.push_back(text(st, "kind") + " " + text(st, "name"));
      x.push_back(static_cast<double>(x.size()));
      before.push_back(dbl(st, "frac_before"));
      after.push_back(dbl(st, "frac_after"));
      metric.push_back(100 * dbl(st, "metric_after"));
    }
    double lo = 1e9, hi = -1e9;
    for (double v : before) lo = std::min(lo, v), hi = std::max(hi, v);
    for (double v : after) lo = std::min(lo, v), hi = std::max(hi, v);
    Chart f("tune-frac-" + std::to_string(k), what + ": fractional length per step", 640, 260);
    f.x_categories(names);
    f.y_axis(lo - 1, hi + 1, "fractional length (bits)");
    f.line(x, before, palette(7), "before", true, true, names);
    f.line(x, after, palette(0), "after", false, true, names);
    o << f.html(
        "Each step tunes one tensor (x: step; tooltips name it): its fractional length "
        "before and after the step. A higher fractional length is a finer step and a "
        "lower clipping level.");
    double mlo = 1e9, mhi = -1e9;
    for (double v : metric) mlo = std::min(mlo, v), mhi = std::max(mhi, v);
    Chart m("tune-metric-" + std::to_string(k), what + ": validation metric per step", 640, 240);
    m.x_categories(names);
    m.y_axis(mlo - 0.5, mhi + 0.5, "metric (%, c0 top-1 + c1 top-5)");
    m.line(x, metric, palette(1), "after the step", false, true, names);
    o << m.html("The tuning metric on the validation images after each step.");
    ++k;
  }
  o << "</section>\n";
  return o.str();
}

std::string sweep_section(const ReportInputs& in) {
  const Json& s = *in.sweep;
  std::ostringstream o;
  o << "<section id=\"sweep\"><h2>Accuracy against bit width</h2>";
  const auto bits = s.value("bits", std::vector<double>{});
  Chart c("sweep-top1", "Top-1 against bit width, per scheme", 640, 300);
  double lo = 100;
  for (const auto& r : s["rows"])
    for (const auto& v : r.value("top1", Json::array()))
      if (v.is_number()) lo = std::min(lo, 100 * v.get<double>());
  const double fl = 100 * dbl(s.value("float", Json::object()), "top1");
  c.x_axis(bits.empty() ? 0 : *std::min_element(bits.begin(), bits.end()) - 0.5,
           bits.empty() ? 1 : *std::max_element(bits.begin(), bits.end()) + 0.5,
           "bits (weights and feature maps)");
  c.y_axis(std::max(0.0, std::floor(lo / 10) * 10), 100, "top-1 (%)");
  size_t i = 0;
  o << "<table><tr><th>scheme</th>";
  for (double b : bits) o << "<th>" << num(b) << " bits</th>";
  o << "</tr>";
  for (const auto& r : s["rows"]) {
    std::vector<double> y;
    o << "<tr><th>" << escape(text(r, "scheme")) << "</th>";
    for (const auto& v : r.value("top1", Json::array())) {
      y.push_back(v.is_number() ? 100 * v.get<double>() : kNaN);
      o << "<td>" << fixed(y.back(), 2) << "</td>";
    }
    o << "</tr>";
    c.line(bits, y, palette(i++), text(r, "scheme"));
  }
  o << "</table>";
  if (std::isfinite(fl)) c.hline(fl, "#555", "float " + fixed(fl, 2) + "%");
  o << c.html("Top-1 on <code>" + escape(text(s, "scored_on")) +
              "</code> for each scheme (the paper's Table 1 as a plot); the dashed line is the "
              "float network.")
    << "</section>\n";
  return o.str();
}

std::string compare_section(const ReportInputs& in, const std::vector<std::string>& order) {
  const Json& s = *in.compare;
  std::ostringstream o;
  o << "<section id=\"compare\"><h2>Methods side by side</h2>";
  // Accuracy against bits, one line per (method, weights).
  std::map<std::string, std::vector<std::pair<double, double>>> acc;
  std::set<double> bits;
  for (const auto& r : s["rows"]) {
    if (!std::isfinite(dbl(r, "bits"))) continue;
    const std::string key =
        text(r, "method") +
        (text(r, "wmethod", "alg1") == "alg1" ? std::string() : " / " + text(r, "wmethod"));
    acc[key].push_back({dbl(r, "bits"), 100 * dbl(r, "top1")});
    bits.insert(dbl(r, "bits"));
  }
  if (bits.empty()) {
    o << "<p class=\"note\">compare.json holds no rows.</p></section>\n";
    return o.str();
  }
  double lo = 100;
  for (const auto& [k, v] : acc)
    for (auto [b, t] : v) lo = std::min(lo, std::isfinite(t) ? t : lo);
  Chart c("compare-top1", "Top-1 against bit width, per method", 640, 300);
  c.x_axis(*bits.begin() - 0.5, *bits.rbegin() + 0.5, "bits (weights and feature maps)");
  c.y_axis(std::max(0.0, std::floor(lo / 10) * 10), 100, "top-1 (%)");
  size_t i = 0;
  for (const auto& [k, v] : acc) {
    std::vector<double> x, y;
    for (auto [b, t] : v) x.push_back(b), y.push_back(t);
    c.line(x, y, palette(i++), k);
  }
  const double fl = 100 * dbl(s.value("float", Json::object()), "top1");
  if (std::isfinite(fl)) c.hline(fl, "#555", "float " + fixed(fl, 2) + "%");
  o << c.html("Top-1 on <code>" + escape(text(s, "scored_on")) + "</code> per method.");
  // The paper's Figure 8: SQNR per feature map for each method, one chart per width.
  for (double b : bits) {
    Chart f("compare-sqnr-" + num(b), "Feature-map SQNR per layer at " + num(b) + " bits", 860,
            300);
    f.x_categories(order);
    double ylo = 0, yhi = 10;
    size_t k = 0;
    for (size_t r = 0; r < s["rows"].size() && r < in.compare_plans.size(); ++r) {
      const Json& row = s["rows"][r];
      if (dbl(row, "bits") != b || text(row, "wmethod", "alg1") != "alg1") continue;
      const Json* acts = child(in.compare_plans[r], "activations");
      if (!acts) continue;
      for (const std::string& n : order)
        if (const Json* a = acts->contains(n) ? &(*acts)[n] : nullptr) {
          const double v = dbl(*a, "sqnr_db");
          if (std::isfinite(v)) ylo = std::min(ylo, v), yhi = std::max(yhi, v);
        }
      ++k;
    }
    if (k == 0) continue;
    f.y_axis(std::floor(ylo / 5) * 5, std::ceil(yhi / 5) * 5 + 5, "SQNR (dB)");
    k = 0;
    for (size_t r = 0; r < s["rows"].size() && r < in.compare_plans.size(); ++r) {
      const Json& row = s["rows"][r];
      if (dbl(row, "bits") != b || text(row, "wmethod", "alg1") != "alg1") continue;
      const Json* acts = child(in.compare_plans[r], "activations");
      if (!acts) continue;
      std::vector<double> x, y;
      for (size_t n = 0; n < order.size(); ++n) {
        x.push_back(static_cast<double>(n));
        y.push_back(acts->contains(order[n]) ? dbl((*acts)[order[n]], "sqnr_db") : kNaN);
      }
      f.line(x, y, palette(k++), text(row, "method"), false, true, order);
    }
    o << f.html("Local SQNR of every feature map (calibration data) under each method at " +
                num(b) + " bits, graph order (the paper's Figure 8).");
  }
  o << "<table><tr><th>bits</th><th>method</th><th>weights</th><th>top-1 %</th><th>loss</th>"
       "<th>tied</th><th>FM SQNR mean dB</th><th>min dB</th><th>warning</th></tr>";
  for (const auto& r : s["rows"])
    o << "<tr><td>" << text(r, "bits") << "</td><td>" << escape(text(r, "method")) << "</td><td>"
      << escape(text(r, "wmethod")) << "</td><td>" << pct(dbl(r, "top1")) << "</td><td>"
      << fixed(dbl(r, "loss_points"), 2) << "</td><td>" << text(r, "ties") << "</td><td>"
      << fixed(dbl(r, "fm_sqnr_mean_db"), 1) << "</td><td>" << fixed(dbl(r, "fm_sqnr_min_db"), 1)
      << "</td><td>" << escape(text(r, "warning")) << "</td></tr>";
  o << "</table></section>\n";
  return o.str();
}

std::string sensitivity_section(const ReportInputs& in) {
  const Json& s = *in.sensitivity;
  std::ostringstream o;
  const std::string bits = text(s, "bits");
  o << "<section id=\"sensitivity\"><h2>Sensitivity: which tensor to keep wider</h2><p>Each "
       "tensor rounded alone to "
    << bits << " bits, everything else float, scored on " << text(s, "images")
    << " images of <code>" << escape(text(s, "val")) << "</code>: float top-1 "
    << pct(dbl(s, "float_top1")) << "%, every tensor at " << bits << " bits "
    << pct(dbl(s, "all_top1")) << "%.</p>";
  const Json& layers = s["layers"];
  const size_t shown = std::min<size_t>(layers.size(), 30);
  std::vector<std::string> names;
  std::vector<double> lo, hi, loss, x, sqnr;
  double top = 0.5, slo = 0, shi = 10;
  for (size_t i = 0; i < shown; ++i) {
    const Json& l = layers[i];
    names.push_back(text(l, "tensor") + " " + text(l, "name"));
    const double v = 100 * (dbl(s, "float_top1") - dbl(l, "top1"));
    lo.push_back(static_cast<double>(i) - 0.4);
    hi.push_back(static_cast<double>(i) + 0.4);
    loss.push_back(v);
    top = std::max(top, v);
    x.push_back(static_cast<double>(i));
    sqnr.push_back(dbl(l, "sqnr_db"));
    if (std::isfinite(sqnr.back()))
      slo = std::min(slo, sqnr.back()), shi = std::max(shi, sqnr.back());
  }
  if (shown > 0) {
    Chart c("sensitivity-loss", "Top-1 lost with only this tensor at " + bits + " bits", 860, 280);
    c.x_categories(names);
    c.y_axis(0, top * 1.1, "top-1 loss (points)");
    c.bars(lo, hi, loss, palette(1));
    std::string cap = "The " + std::to_string(shown) +
                      " most sensitive tensors, worst first (x: rank; tooltips and the table "
                      "below name them): ";
    for (size_t i = 0; i < std::min<size_t>(shown, 5); ++i)
      cap += (i ? ", " : "") + std::to_string(i) + " = " + escape(names[i]);
    o << c.html(cap + ".");
    Chart q("sensitivity-sqnr", "Output SQNR with only this tensor at " + bits + " bits", 860, 260);
    q.x_categories(names);
    q.y_axis(std::floor(slo / 5) * 5, std::ceil(shi / 5) * 5 + 5, "logits SQNR (dB)");
    q.line(x, sqnr, palette(0), "", false, true, names);
    o << q.html("SQNR of the network's logits against the float network's, same ranking.");
  }
  if (const Json* sg = child(s, "suggestion")) {
    o << "<p><b>Suggestion:</b> keep the first " << sg->value("keep", Json::array()).size()
      << " tensors of the ranking at " << text(*sg, "bits") << " bits. Predicted loss "
      << fixed(dbl(*sg, "predicted_loss"), 2) << " points (the sum of the isolated losses of the "
      << "tensors left at " << bits << " bits); measured by running it: <b>"
      << fixed(dbl(*sg, "measured_loss"), 2) << " points</b> against a target of "
      << fixed(dbl(*sg, "max_loss"), 2) << " ("
      << (sg->value("met", false) ? "met" : "<span class=\"bad\">not met</span>") << ")";
    if (std::isfinite(dbl(*sg, "test_loss")))
      o << "; " << fixed(dbl(*sg, "test_loss"), 2) << " points on <code>"
        << escape(text(*sg, "test")) << "</code>";
    o << ".</p>";
    if (const Json* at = child(*sg, "attempts"); at && at->size() > 1) {
      o << "<table><tr><th>kept</th><th>predicted loss</th><th>measured loss</th></tr>";
      for (const auto& a : *at)
        o << "<tr><td>" << text(a, "keep") << "</td><td>" << fixed(dbl(a, "predicted_loss"), 2)
          << "</td><td>" << fixed(dbl(a, "measured_loss"), 2) << "</td></tr>";
      o << "</table>";
    }
  }
  o << "<div class=\"scroll\"><table><tr><th>rank</th><th>tensor</th><th>name</th><th>top-1 %</th>"
       "<th>loss</th><th>output SQNR dB</th></tr>";
  for (size_t i = 0; i < layers.size(); ++i)
    o << "<tr><td>" << i << "</td><td>" << escape(text(layers[i], "tensor"))
      << "</td><td class=\"name\">" << escape(text(layers[i], "name")) << "</td><td class=\"r\">"
      << pct(dbl(layers[i], "top1")) << "</td><td class=\"r\">"
      << fixed(100 * (dbl(s, "float_top1") - dbl(layers[i], "top1")), 2) << "</td><td class=\"r\">"
      << fixed(dbl(layers[i], "sqnr_db"), 1) << "</td></tr>";
  o << "</table></div></section>\n";
  return o.str();
}

std::string profile_section(const ReportInputs& in) {
  const Json& s = *in.profile;
  std::ostringstream o;
  const bool integer = s.contains("integer_ms") && s["integer_ms"].is_number();
  o << "<section id=\"profile\"><h2>Speed per layer</h2><p>A batch of " << text(s, "batch") << " ("
    << escape(text(s, "images")) << ") on " << text(s, "threads") << " thread(s), median of "
    << text(s, "repeat") << " runs: float " << fixed(dbl(s, "float_ms"), 2) << " ms ("
    << fixed(dbl(s, "float_gops"), 1) << " GOP/s)";
  if (integer)
    o << ", integer engine " << fixed(dbl(s, "integer_ms"), 2) << " ms ("
      << fixed(dbl(s, "integer_gops"), 1) << " GOP/s), "
      << fixed(dbl(s, "float_ms") / dbl(s, "integer_ms"), 2) << "&times; the float speed";
  o << ".</p>";
  std::vector<std::string> names;
  std::vector<double> fl, fh, fv, il, ih, iv;
  double top = 0;
  for (const auto& l : s["layers"]) {
    const double i = static_cast<double>(names.size());
    names.push_back(text(l, "name"));
    fl.push_back(i - 0.42);
    fh.push_back(integer ? i : i + 0.42);
    fv.push_back(dbl(l, "float_ms"));
    il.push_back(i);
    ih.push_back(i + 0.42);
    iv.push_back(dbl(l, "integer_ms"));
    top = std::max({top, fv.back(), std::isfinite(iv.back()) ? iv.back() : 0.0});
  }
  if (!names.empty()) {
    Chart c("profile-ms", "Time per layer, float and integer", 860, 300);
    c.x_categories(names);
    c.y_axis(0, top * 1.1 + 1e-9, "milliseconds per batch");
    c.bars(fl, fh, fv, palette(0), "float");
    if (integer) c.bars(il, ih, iv, palette(3), "integer engine");
    o << c.html(
        "Wall time of each node per batch (x: node index in graph order, named in the "
        "table). Float: the node re-run alone on its cached inputs; integer: timed inside "
        "full runs of the integer engine.");
  }
  o << "<div class=\"scroll\"><table><tr><th>#</th><th>layer</th><th>op</th><th>MMACs/image</th>"
       "<th>float ms</th><th>float GOP/s</th><th>float kernel</th>";
  if (integer)
    o << "<th>integer ms</th><th>integer GOP/s</th><th>speed-up</th><th>integer kernel</th>";
  o << "</tr>";
  size_t i = 0;
  for (const auto& l : s["layers"]) {
    o << "<tr><td>" << i++ << "</td><td class=\"name\">" << escape(text(l, "name")) << "</td><td>"
      << escape(text(l, "op")) << "</td><td class=\"r\">" << fixed(dbl(l, "macs") / 1e6, 3)
      << "</td><td class=\"r\">" << fixed(dbl(l, "float_ms"), 3) << "</td><td class=\"r\">"
      << fixed(dbl(l, "float_gops"), 1) << "</td><td>" << escape(text(l, "float_kernel"))
      << "</td>";
    if (integer) {
      const double sp = dbl(l, "speedup");
      o << "<td class=\"r\">" << fixed(dbl(l, "integer_ms"), 3) << "</td><td class=\"r\">"
        << fixed(dbl(l, "integer_gops"), 1) << "</td><td class=\"r\">"
        << (sp <= 1 ? "<span class=\"bad\">" + fixed(sp, 2) + "</span>" : fixed(sp, 2))
        << "</td><td>" << escape(text(l, "integer_kernel")) << "</td>";
    }
    o << "</tr>";
  }
  o << "</table></div>";
  if (const Json* slow = child(s, "integer_not_faster"); slow && !slow->empty()) {
    o << "<p class=\"note\">Integer is not faster on " << slow->size()
      << " layer(s) that take at least 1% of the float time:";
    for (const auto& n : *slow) o << " <code>" << escape(n.get<std::string>()) << "</code>";
    o << ".</p>";
  }
  o << "</section>\n";
  return o.str();
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#223;color:#fff;padding:14px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#cdd}nav{padding:6px 28px;background:#eef;font-size:13px}
nav a{margin-right:14px;color:#235}main{padding:8px 28px 40px}h2{border-bottom:1px solid #ccc;padding-bottom:3px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;font-size:12.5px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f0f0f4}td.r{text-align:right;font-variant-numeric:tabular-nums}td.name{font-family:monospace;font-size:11.5px}
.scroll{overflow-x:auto}.kv th{width:190px}.note{color:#555;font-size:13px}.bad{color:#b00;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:10px}.grid figure{width:434px;box-sizing:border-box}figure{margin:8px 0;background:#fff;border:1px solid #ddd;padding:6px;max-width:880px}
figcaption{font-size:12px;color:#444;max-width:860px}.warn li{color:#8a5a00}
.log{display:none}#logy:checked~.lin{display:none}#logy:checked~.log{display:flex}
footer{color:#777;font-size:12px;padding:10px 28px}code{font-size:12px}
)";

}  // namespace

ReportInputs load_report_inputs(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorKind::Io, str_cat(dir, ": not a folder (gammaq report DIR)"));
  ReportInputs in;
  in.dir = dir;
  const std::string base = dir + "/";
  in.summary = read_json(base + "summary.json", in);
  in.plan = read_json(base + "quant.json", in);
  in.diagnostics = read_json(base + "diagnostics.json", in);
  in.sweep = read_json(base + "sweep.json", in);
  in.compare = read_json(base + "compare.json", in);
  if (in.compare) {
    require(*in.compare, base + "compare.json", "rows", Json::value_t::array);
    for (const auto& r : (*in.compare)["rows"]) {
      const std::string p = r.is_object() ? text(r, "plan") : "";
      std::optional<Json> plan;
      if (!p.empty() && p.find("..") == std::string::npos) plan = read_json(base + p, in);
      in.compare_plans.push_back(plan ? *plan : Json::object());
    }
  }
  in.sensitivity = read_json(base + "sensitivity.json", in);
  in.profile = read_json(base + "profile.json", in);
  check_report_inputs(in);
  return in;
}

void check_report_inputs(const ReportInputs& in) {
  const std::string base = in.dir + "/";
  const auto object = Json::value_t::object, array = Json::value_t::array;
  const auto string = Json::value_t::string, count = Json::value_t::number_unsigned;
  const struct {
    const std::optional<Json>* json;
    const char* file;
    std::vector<std::pair<const char*, Json::value_t>> fields;
  } parts[] = {
      {&in.summary, "summary.json", {{"model", string}, {"layers", array}}},
      {&in.plan, "quant.json", {{"gammaq_quant", count}, {"activations", object}}},
      {&in.diagnostics,
       "diagnostics.json",
       {{"gammaq_diagnostics", count}, {"tensors", array}, {"layers", array}}},
      {&in.sweep, "sweep.json", {{"model", string}, {"bits", array}, {"rows", array}}},
      {&in.compare, "compare.json", {{"model", string}, {"rows", array}}},
      {&in.sensitivity, "sensitivity.json", {{"model", string}, {"layers", array}}},
      {&in.profile, "profile.json", {{"model", string}, {"layers", array}}},
  };
  for (const auto& part : parts) {
    if (!*part.json) continue;
    if (!(*part.json)->is_object())
      throw Error(ErrorKind::InvalidData, str_cat(base, part.file, ": not a JSON object"));
    for (const auto& [key, type] : part.fields) require(**part.json, base + part.file, key, type);
  }
  for (const Json& p : in.compare_plans)
    if (!p.is_object())
      throw Error(ErrorKind::InvalidData, str_cat(base, "plans: a plan is not a JSON object"));
  if (!in.summary && !in.sweep && !in.compare && !in.sensitivity && !in.profile)
    throw Error(ErrorKind::InvalidData,
                str_cat(in.dir,
                        ": no summary.json, sweep.json, compare.json, sensitivity.json or "
                        "profile.json to report on"));
  // Every file must be about one model (a sweep of another model is an error, not a plot).
  std::string model, model_file, sha, sha_file;
  for (const auto& part : parts) {
    if (!*part.json) continue;
    const Json& j = **part.json;
    if (auto it = j.find("model"); it != j.end() && it->is_string()) {
      if (model.empty()) {
        model = it->get<std::string>();
        model_file = part.file;
      } else if (*it != model) {
        throw Error(ErrorKind::InvalidData,
                    str_cat(base, part.file, ": made for model '", it->get<std::string>(),
                            "', but ", model_file, " is for '", model, "'"));
      }
    }
    if (auto it = j.find("model_sha256"); it != j.end() && it->is_string() && !it->empty()) {
      if (sha.empty()) {
        sha = it->get<std::string>();
        sha_file = part.file;
      } else if (*it != sha) {
        throw Error(ErrorKind::InvalidData,
                    str_cat(base, part.file, ": made for another model file (fingerprint ",
                            it->get<std::string>(), ") than ", sha_file, " (", sha, ")"));
      }
    }
  }
}

std::string render_html(const ReportInputs& in) {
  try {
    Tables t;
    if (in.diagnostics) {
      for (const auto& td : (*in.diagnostics)["tensors"]) t.tensor_diag[text(td, "name")] = &td;
      for (const auto& ld : (*in.diagnostics)["layers"]) t.layer_diag[text(ld, "name")] = &ld;
    }
    if (in.plan)
      for (const auto& [k, v] : (*in.plan)["activations"].items()) t.plan_act[k] = &v;
    std::string model;
    for (const auto* j : {&in.summary, &in.sweep, &in.compare, &in.sensitivity, &in.profile})
      if (*j && model.empty()) model = text(**j, "model");

    std::vector<std::pair<std::string, std::string>> sections;  // id, html
    if (in.summary) {
      sections.push_back({"run", run_section(in)});
      sections.push_back({"layers", layer_table(in, t)});
      if (in.diagnostics) {
        sections.push_back({"feature-maps", distributions_section(in, t)});
      }
      if (std::string s = tuning_section(in); !s.empty()) sections.push_back({"tuning", s});
    }
    if (in.compare) {
      std::vector<std::string> order = in.compare->value("tensors", std::vector<std::string>{});
      if (order.empty() && !in.compare_plans.empty())
        if (const Json* a = child(in.compare_plans.front(), "activations"))
          for (const auto& [k, v] : a->items()) order.push_back(k);
      sections.push_back({"compare", compare_section(in, order)});
    }
    if (in.sensitivity) sections.push_back({"sensitivity", sensitivity_section(in)});
    if (in.sweep) sections.push_back({"sweep", sweep_section(in)});
    if (in.profile) sections.push_back({"profile", profile_section(in)});

    std::ostringstream o;
    o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>gammaq report: "
      << escape(model) << "</title><style>" << kStyle << "</style></head><body><header><h1>"
      << "gammaq report: " << escape(model) << "</h1><p>Why did this model lose accuracy, and "
      << "which layer to fix. Every number below comes from the files in <code>" << escape(in.dir)
      << "</code>.</p></header><nav>";
    const std::map<std::string, std::string> titles = {{"run", "Run"},
                                                       {"layers", "Layers"},
                                                       {"feature-maps", "Distributions"},
                                                       {"tuning", "Tuning"},
                                                       {"compare", "Methods"},
                                                       {"sweep", "Bit widths"},
                                                       {"sensitivity", "Sensitivity"},
                                                       {"profile", "Speed"}};
    for (const auto& [id, html] : sections)
      o << "<a href=\"#" << id << "\">" << titles.at(id) << "</a>";
    o << "</nav><main>";
    for (const auto& [id, html] : sections) o << html;
    o << "</main><footer>Drawn by gammaq from ";
    for (size_t i = 0; i < in.files.size(); ++i) o << (i ? ", " : "") << escape(in.files[i]);
    o << ". Self-contained: no script, no external resource.</footer></body></html>\n";
    return o.str();
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::InvalidData,
                str_cat(in.dir, ": a report input has an unexpected field: ", e.what()));
  }
}

}  // namespace gammaq::report
