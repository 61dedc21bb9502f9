#include "export/export.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gammaq/error.h"
#include "gammaq/executor.h"
#include "ops/op.h"
#include "quant/nuuq.h"

namespace gammaq {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// One constant array of the model.
struct Array {
  std::string name;
  int bytes = 4;  // element size: 1, 2, 4 or 8 (signed little-endian integers)
  std::vector<int64_t> values;
  bool is_unsigned = false;  // uint8 (packed NUUQ indices)
};

int narrowest(const std::vector<int64_t>& v) {
  int64_t lo = 0, hi = 0;
  for (int64_t x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  if (lo >= INT8_MIN && hi <= INT8_MAX) return 1;
  if (lo >= INT16_MIN && hi <= INT16_MAX) return 2;
  if (lo >= INT32_MIN && hi <= INT32_MAX) return 4;
  return 8;
}

std::string c_type(const Array& a) {
  return str_cat(a.is_unsigned ? "uint" : "int", a.bytes * 8, "_t");
}

// The model as a JSON description plus its arrays (shared by both formats).
struct Description {
  json j;
  std::vector<Array> arrays;
  std::string add(std::string name, std::vector<int64_t> values, int bytes = 0,
                  bool is_unsigned = false) {
    Array a{std::move(name), bytes ? bytes : narrowest(values), std::move(values), is_unsigned};
    arrays.push_back(a);
    return arrays.back().name;
  }
};

json format_json(const quant::Format& f) {
  json j = {{"bits", f.bits}, {"frac", f.frac}, {"signed", f.is_signed}};
  if (f.table)
    j["table"] = {{"thresholds", f.table->thresholds},
                  {"levels", f.table->levels},
                  {"zero_bin", f.table->zero_bin}};
  return j;
}

// A threshold-table output stage (ALGORITHMS.md 9.3) at its accumulator's scale: per shift
// entry (output channel, or one), the K - 1 integers A_k with index = #{k : acc >= A_k}: the
// least acc whose value acc 2^-shift reaches T_k (exceeds T_0 for the zero bin). Comparators
// only; the output code is levels[index].
std::vector<int64_t> accumulator_thresholds(const kernels::OutputStage& s) {
  const quant::ThresholdTable& t = *s.out.table;
  std::vector<int64_t> out;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  for (int sh : s.shift)
    for (size_t k = 0; k < t.thresholds.size(); ++k) {
      const int64_t v = t.thresholds[k];
      const bool strict = t.zero_bin && k == 0;
      int64_t a = 0;
      if (sh >= 0) {
        a = sh >= 32 ? (v > 0 ? kMax : (v < 0 ? -kMax : 0)) : v * (int64_t{1} << sh);
        if (strict && a != kMax) ++a;
      } else {
        const int64_t d = -sh >= 62 ? (int64_t{1} << 62) : int64_t{1} << -sh;
        // ceil(v / d) (strict: floor(v / d) + 1), floor division for negative v.
        const int64_t fl = v >= 0 ? v / d : -((-v + d - 1) / d);
        a = strict ? fl + 1 : (fl * d == v ? fl : fl + 1);
      }
      out.push_back(a);
    }
  return out;
}

// A NUUQ layer as a NUUQ accelerator stores it (ALGORITHMS.md 8.3): per codebook (the layer,
// or each output channel), its levels and its weights' indices packed by pack_indices, each
// codebook's stream starting on a byte. levels[index] of each weight equals its code in the
// weights array.
json nuuq_json(Description& d, const std::string& base, const Tensor& w,
               const quant::LayerFormat& l, const LayerCodes& codes, quant::Rounding rounding) {
  const size_t books = l.weight_codebooks.size();
  const size_t per = w.data.size() / books;
  const size_t per_channel = w.data.size() / codes.weight_frac.size();
  std::vector<int64_t> packed, levels;
  json list = json::array();
  for (size_t b = 0; b < books; ++b) {
    const quant::Codebook& cb = l.weight_codebooks[b];
    std::vector<int> idx;
    for (size_t k = b * per; k < (b + 1) * per; ++k) {
      quant::Format f = l.weight;
      f.frac = codes.weight_frac[k / per_channel];
      idx.push_back(cb.index(quant::quantize_code(w.data[k], f, rounding)));
    }
    const int q = static_cast<int>(cb.levels.size());
    const quant::Packing pk = quant::nuuq_packing(q);
    list.push_back({{"levels", q},
                    {"levels_offset", levels.size()},
                    {"packed_offset", packed.size()},
                    {"per_word", pk.per_word},
                    {"word_bits", pk.word_bits}});
    for (uint8_t byte : quant::pack_indices(idx, q)) packed.push_back(byte);
    for (int32_t v : cb.levels) levels.push_back(v);
  }
  return {{"weights_per_codebook", per},
          {"levels", d.add(base + "_levels", levels)},
          {"packed", d.add(base + "_idx", packed, 1, true)},
          {"codebooks", list}};
}

Description describe(const IntegerProgram& p, const quant::QuantPlan& plan) {
  const Graph& g = p.graph();
  Description d;
  json& j = d.j;
  j["gammaq_integer_model"] = 1;
  j["model"] = plan.model;
  j["rounding"] = quant::rounding_name(p.rounding());
  j["input"] = g.input;
  j["output"] = g.output;
  json values = json::array();
  for (size_t v = 0; v < g.values.size(); ++v) {
    const Value& val = g.values[v];
    if (val.is_constant || (static_cast<int>(v) != g.input && val.producer < 0)) continue;
    json e = {
        {"id", v}, {"name", val.name}, {"shape", Shape(val.shape.begin() + 1, val.shape.end())}};
    e.update(format_json(p.format(static_cast<int>(v))));
    values.push_back(e);
  }
  j["values"] = values;
  json nodes = json::array();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const IntegerNode& in = p.node(i);
    const Attributes& a = n.attrs;
    json e = {{"index", i}, {"name", n.name}, {"op", op_name(n.op)}};
    json ins = json::array();
    for (int v : n.inputs)
      if (!g.values[static_cast<size_t>(v)].is_constant) ins.push_back(v);
    e["inputs"] = ins;
    e["output"] = n.outputs[0];
    const ops::OpDef& def = ops::def(n.op);
    if (def.windowed) {
      e["kernel"] = a.kernel;
      e["strides"] = a.strides;
      e["pads"] = a.pads;  // top, left, bottom, right
      e["dilations"] = a.dilations.empty() ? std::vector<int64_t>{1, 1} : a.dilations;
    }
    if (def.export_json) def.export_json(n, in, e);
    if (def.weighted) {
      const std::string base = str_cat("n", i);
      e["weights"] =
          d.add(base + "_w", std::vector<int64_t>(in.codes.weight.begin(), in.codes.weight.end()));
      e["weight_fracs"] = in.codes.weight_frac;
      e["bias"] =
          in.codes.bias.empty() ? json(nullptr) : json(d.add(base + "_b", in.codes.bias, 8));
      if (const quant::LayerFormat& lf = plan.layers.at(n.name); !lf.weight_codebooks.empty())
        e["nuuq"] = nuuq_json(d, base, g.values[n.inputs[1]].data, lf, in.codes, p.rounding());
      e["accumulator"] = in.wide ? "int64" : "int32";
      e["accumulator_bits"] = in.accumulator_bits;
    }
    // Output stage: requantize by shift (per output channel where there are several), then
    // clamp to [lo, hi]; or, for a threshold-table output, the comparator bank.
    if (in.stage.out.table) {
      const std::string base = str_cat("n", i);
      e["thresholds"] = {{"acc", d.add(base + "_tacc", accumulator_thresholds(in.stage), 8)},
                         {"levels", d.add(base + "_tlevels",
                                          std::vector<int64_t>(in.stage.out.table->levels.begin(),
                                                               in.stage.out.table->levels.end()))},
                         {"per_shift", in.stage.out.table->thresholds.size()}};
      if (!in.input_stages.empty()) {
        json names = json::array();
        for (size_t k = 0; k < in.input_stages.size(); ++k)
          names.push_back(d.add(str_cat(base, "_in", k, "_tacc"),
                                accumulator_thresholds(in.input_stages[k]), 8));
        e["thresholds"]["input_acc"] = names;
      }
    }
    e["shift"] = in.stage.shift;
    e["lo"] = in.stage.lo;
    e["hi"] = in.stage.hi;
    nodes.push_back(e);
  }
  j["nodes"] = nodes;
  json arrays = json::object();
  for (const Array& a : d.arrays)
    arrays[a.name] = {{"file", a.name + ".bin"},
                      {"type", str_cat(a.is_unsigned ? "uint" : "int", a.bytes * 8)},
                      {"count", a.values.size()}};
  j["arrays"] = arrays;
  return d;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
  if (!f.good()) throw Error(ErrorKind::Io, str_cat(path.string(), ": cannot write"));
}

std::string little_endian(const Array& a) {
  std::string out;
  out.reserve(a.values.size() * static_cast<size_t>(a.bytes));
  for (int64_t v : a.values) {
    const auto u = static_cast<uint64_t>(v);
    for (int b = 0; b < a.bytes; ++b) out.push_back(static_cast<char>((u >> (8 * b)) & 0xff));
  }
  return out;
}

std::string identifier(const std::string& s) {
  std::string id;
  for (char c : s) id.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0]))) id = "m_" + id;
  return id;
}

// The C header: the description's JSON as a comment-documented table.
std::string c_header(const Description& d) {
  const json& j = d.j;
  const std::string px = "gq_" + identifier(j["model"].get<std::string>());
  std::ostringstream o;
  const std::string guard = [&] {
    std::string s = px + "_H";
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }();
  o << "/* " << px << ".h: the integer model of '" << j["model"].get<std::string>()
    << "', written by gammaq export.\n"
       " *\n"
       " * Values (activations): "
    << px
    << "_values[], one per tensor id: shape (C, H, W; 1 for\n"
       " * absent dims), and its fixed-point format: a value is the integer code q meaning\n"
       " * q * 2^-frac, in `bits` bits, signed (two's complement) or unsigned.\n"
       " * Nodes: "
    << px
    << "_nodes[], in execution order. Each reads the codes of in[0..n_in-1]\n"
       " * and writes out. Conv/Gemm: acc = bias[m] + sum w * x over the window (zero padding),\n"
       " * in int32 when wide == 0 (proven not to overflow) else int64; w is [M][C/group][KH][KW]\n"
       " * (Gemm: [M][K]) as int"
       "8_t or int16_t (weight_bytes). MaxPool: max over the window.\n"
       " * AveragePool/GlobalAveragePool: the window's sum, divided by its count with the "
       "rounding\n"
       " * below. LRN: S = sum of squared codes over `size` channels (floor((size-1)/2) before),\n"
       " * M = R(2^30 (lrn_bias + lrn_alpha/size * S * 2^-2frac_in)^-lrn_beta), acc = x * M.\n"
       " * Add: both inputs shifted left to the larger frac and added; Mul: codes multiplied.\n"
       " * Concat (channels): each input requantized by in_shift[k]. Relu/Clip/Flatten: the code.\n"
       " * NUUQ layers (quantize --wlevels Q) also have nN_levels (each codebook's levels) and\n"
       " * nN_idx (packed indices: per codebook, groups of per_word indices as base-Q words of\n"
       " * word_bits bits, LSB first, each codebook starting on a byte; offsets in the bin\n"
       " * export's manifest): levels[index] of every weight is its code in w.\n"
       " * Output stage, every node: q = R(acc * 2^-shift[m]) (shift[0] when n_shift == 1; a\n"
       " * negative shift is an exact left shift), saturated to the output format, then clamped\n"
       " * to [lo, hi] (fused ReLU/Clip). R rounds to nearest with ties as ROUNDING says:\n"
       " * 0 = half to even, 1 = half away from zero, 2 = half up.\n"
       " * Threshold-quantized outputs (quantize --method threshold*, ALGORITHMS.md 9.3) have\n"
       " * no shift: nN_tacc holds, per shift entry m, K-1 ascending accumulator thresholds;\n"
       " * index = #{k : acc >= tacc[m][k]} and q = nN_tlevels[index] (a Concat's inputs:\n"
       " * nN_inK_tacc per input, its code as acc). The level is the code the readers use.\n"
       " */\n"
    << "#ifndef " << guard << "\n#define " << guard << "\n\n#include <stdint.h>\n\n";
  const std::string rounding = j["rounding"].get<std::string>();
  o << "#define " << px << "_ROUNDING "
    << (rounding == "half_even"   ? 0
        : rounding == "half_away" ? 1
                                  : 2)
    << "\n";
  o << "#define " << px << "_INPUT " << j["input"].get<int>() << "\n";
  o << "#define " << px << "_OUTPUT " << j["output"].get<int>() << "\n";
  int max_id = 0;
  for (const json& v : j["values"]) max_id = std::max(max_id, v["id"].get<int>());
  o << "#define " << px << "_NUM_VALUES " << max_id + 1 << "\n";
  o << "#define " << px << "_NUM_NODES " << j["nodes"].size() << "\n\n";
  for (const Array& a : d.arrays) {
    o << "static const " << c_type(a) << " " << px << "_" << a.name << "[" << a.values.size()
      << "] = {";
    for (size_t i = 0; i < a.values.size(); ++i) {
      if (i % 16 == 0) o << "\n ";
      if (a.bytes == 8)
        o << " INT64_C(" << a.values[i] << ")";
      else if (a.bytes == 4 && a.values[i] == INT32_MIN)
        o << " (-2147483647 - 1)";
      else
        o << " " << a.values[i];
      o << ",";
    }
    o << "\n};\n";
  }
  // Per-node shift arrays.
  for (const json& n : j["nodes"]) {
    const auto& sh = n["shift"];
    o << "static const int32_t " << px << "_n" << n["index"].get<int>() << "_shift[" << sh.size()
      << "] = {";
    for (size_t i = 0; i < sh.size(); ++i) o << (i ? ", " : "") << sh[i].get<int>();
    o << "};\n";
    if (n.contains("input_shifts")) {
      const auto& is = n["input_shifts"];
      o << "static const int32_t " << px << "_n" << n["index"].get<int>() << "_in_shift["
        << is.size() << "] = {";
      for (size_t i = 0; i < is.size(); ++i) o << (i ? ", " : "") << is[i].get<int>();
      o << "};\n";
    }
  }
  o << "\ntypedef struct {\n  int c, h, w, bits, frac, is_signed, used;\n} " << px << "_value;\n\n";
  o << "static const " << px << "_value " << px << "_values[" << max_id + 1 << "] = {\n";
  std::vector<const json*> by_id(static_cast<size_t>(max_id + 1), nullptr);
  for (const json& v : j["values"]) by_id[v["id"].get<size_t>()] = &v;
  for (const json* v : by_id) {
    if (!v) {
      o << "  {0, 0, 0, 0, 0, 0, 0},\n";
      continue;
    }
    const auto s = (*v)["shape"].get<std::vector<int64_t>>();
    auto dim = [&](size_t k) { return k < s.size() ? s[k] : 1; };
    o << "  {" << dim(0) << ", " << dim(1) << ", " << dim(2) << ", " << (*v)["bits"].get<int>()
      << ", " << (*v)["frac"].get<int>() << ", " << ((*v)["signed"].get<bool>() ? 1 : 0)
      << ", 1}, /* " << (*v)["name"].get<std::string>() << " */\n";
  }
  o << "};\n\n";
  o << "enum {\n  " << px << "_CONV, " << px << "_GEMM, " << px << "_MAXPOOL, " << px
    << "_AVGPOOL, " << px << "_GLOBALAVGPOOL,\n  " << px << "_LRN, " << px << "_CONCAT, " << px
    << "_ADD, " << px << "_MUL, " << px << "_COPY\n};\n\n";
  o << "typedef struct {\n"
       "  int op, n_in, in[8], out;\n"
       "  int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group, count_include_pad;\n"
       "  int lrn_size;\n  double lrn_alpha, lrn_beta, lrn_bias;\n"
       "  const void* w;\n  int weight_bytes;\n  const int64_t* bias;\n  int wide;\n"
       "  const int32_t* shift;\n  int n_shift;\n  int64_t lo, hi;\n"
       "  const int32_t* in_shift;\n} "
    << px << "_node;\n\n";
  o << "static const " << px << "_node " << px << "_nodes[" << j["nodes"].size() << "] = {\n";
  for (const json& n : j["nodes"]) {
    const std::string op = n["op"].get<std::string>();
    const std::string kind = op == "Conv"                ? "CONV"
                             : op == "Gemm"              ? "GEMM"
                             : op == "MaxPool"           ? "MAXPOOL"
                             : op == "AveragePool"       ? "AVGPOOL"
                             : op == "GlobalAveragePool" ? "GLOBALAVGPOOL"
                             : op == "LRN"               ? "LRN"
                             : op == "Concat"            ? "CONCAT"
                             : op == "Add"               ? "ADD"
                             : op == "Mul"               ? "MUL"
                                                         : "COPY";
    const int idx = n["index"].get<int>();
    const auto& ins = n["inputs"];
    o << "  { /* " << n["name"].get<std::string>() << " (" << op << ") */\n    " << px << "_"
      << kind << ", " << ins.size() << ", {";
    for (size_t k = 0; k < 8; ++k) o << (k ? ", " : "") << (k < ins.size() ? ins[k].get<int>() : 0);
    o << "}, " << n["output"].get<int>() << ",\n    ";
    std::vector<int64_t> k = {1, 1}, st = {1, 1}, pads = {0, 0, 0, 0}, dil = {1, 1};
    if (n.contains("kernel")) {
      k = n["kernel"].get<std::vector<int64_t>>();
      st = n["strides"].get<std::vector<int64_t>>();
      pads = n["pads"].get<std::vector<int64_t>>();
      dil = n["dilations"].get<std::vector<int64_t>>();
    }
    o << k[0] << ", " << k[1] << ", " << st[0] << ", " << st[1] << ", " << pads[0] << ", "
      << pads[1] << ", " << pads[2] << ", " << pads[3] << ", " << dil[0] << ", " << dil[1] << ", "
      << (n.contains("group") ? n["group"].get<int>() : 1) << ", "
      << (n.value("count_include_pad", false) ? 1 : 0) << ",\n    ";
    if (n.contains("lrn"))  // hexadecimal floats: exact (C99)
      o << n["lrn"]["size"].get<int>() << ", " << std::hexfloat << n["lrn"]["alpha"].get<double>()
        << ", " << n["lrn"]["beta"].get<double>() << ", " << n["lrn"]["bias"].get<double>()
        << std::defaultfloat << ",\n    ";
    else
      o << "0, 0.0, 0.0, 0.0,\n    ";
    if (n.contains("weights")) {
      const std::string w = n["weights"].get<std::string>();
      int bytes = 1;
      for (const Array& a : d.arrays)
        if (a.name == w) bytes = a.bytes;
      o << px << "_" << w << ", " << bytes << ", "
        << (n["bias"].is_null() ? std::string("0") : px + "_" + n["bias"].get<std::string>())
        << ", " << (n["accumulator"] == "int64" ? 1 : 0) << ",\n    ";
    } else {
      o << "0, 0, 0, 0,\n    ";
    }
    o << px << "_n" << idx << "_shift, " << n["shift"].size() << ", INT64_C("
      << n["lo"].get<int64_t>() << "), INT64_C(" << n["hi"].get<int64_t>() << "), "
      << (n.contains("input_shifts") ? px + "_n" + std::to_string(idx) + "_in_shift"
                                     : std::string("0"))
      << "},\n";
  }
  o << "};\n\n#endif /* " << guard << " */\n";
  return o.str();
}

// Checks PATH, writes into PATH.tmp.<pid> with `fill`, renames onto PATH.
template <typename Fill>
void write_folder(const std::string& path, Fill fill) {
  const fs::path dst(path);
  std::error_code ec;
  if (fs::exists(dst, ec) && !(fs::is_directory(dst, ec) && fs::is_empty(dst, ec)))
    throw Error(ErrorKind::InvalidOption,
                str_cat(path, ": exists; remove it or choose another folder"));
  const fs::path tmp(str_cat(path, ".tmp.", getpid()));
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec) || ec)
    throw Error(ErrorKind::Io, str_cat(path, ": cannot create (", ec.message(), ")"));
  try {
    fill(tmp);
    fs::remove(dst, ec);  // an empty folder, checked above
    fs::rename(tmp, dst);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    throw Error(ErrorKind::Io, str_cat(path, ": ", e.code().message()));
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace

void export_model(const IntegerProgram& p, const quant::QuantPlan& plan, const std::string& format,
                  const std::string& path) {
  if (format != "c" && format != "bin")
    throw Error(ErrorKind::InvalidOption,
                str_cat("--format ", format, ": expected qdq, c, bin or vectors"));
  const Description d = describe(p, plan);
  write_folder(path, [&](const fs::path& tmp) {
    if (format == "c") {
      write_file(tmp / ("gq_" + identifier(plan.model) + ".h"), c_header(d));
    } else {
      for (const Array& a : d.arrays) write_file(tmp / (a.name + ".bin"), little_endian(a));
      write_file(tmp / "manifest.json", d.j.dump(1) + "\n");
    }
  });
}

void export_vectors(const IntegerProgram& p, const quant::QuantPlan& plan, const Tensor& images,
                    const std::string& path) {
  const Graph& g = p.graph();
  ExecutorOptions eo;
  eo.integer = &p;
  Executor ex(g, eo);
  (void)ex.run(images);
  json j;
  j["gammaq_vectors"] = 1;
  j["model"] = plan.model;
  j["images"] = images.shape[0];
  j["format"] = "one code per line, two's-complement hex of ceil(bits/4) digits, NCHW";
  auto file_of = [](int v) { return str_cat("v", v, ".hex"); };
  write_folder(path, [&](const fs::path& tmp) {
    json values = json::array();
    for (size_t v = 0; v < g.values.size(); ++v) {
      const Value& val = g.values[v];
      if (val.is_constant || (static_cast<int>(v) != g.input && val.producer < 0)) continue;
      const quant::Format& f = p.format(static_cast<int>(v));
      const int digits = (f.bits + 3) / 4;
      const uint64_t mask = digits >= 16 ? ~uint64_t{0} : (uint64_t{1} << (4 * digits)) - 1;
      std::string text;
      char buf[24];
      for (int32_t c : ex.codes(static_cast<int>(v))) {
        std::snprintf(buf, sizeof buf, "%0*llx\n", digits,
                      static_cast<unsigned long long>(static_cast<uint64_t>(int64_t{c}) & mask));
        text += buf;
      }
      write_file(tmp / file_of(static_cast<int>(v)), text);
      json e = {{"id", v},
                {"name", val.name},
                {"file", file_of(static_cast<int>(v))},
                {"shape", Shape(val.shape.begin() + 1, val.shape.end())}};
      e.update(format_json(f));
      values.push_back(e);
    }
    j["values"] = values;
    json nodes = json::array();
    for (const Node& n : g.nodes) {
      json ins = json::array();
      for (int v : n.inputs)
        if (!g.values[static_cast<size_t>(v)].is_constant) ins.push_back(file_of(v));
      nodes.push_back({{"name", n.name},
                       {"op", op_name(n.op)},
                       {"inputs", ins},
                       {"output", file_of(n.outputs[0])}});
    }
    j["nodes"] = nodes;
    write_file(tmp / "manifest.json", j.dump(1) + "\n");
  });
}

}  // namespace gammaq
