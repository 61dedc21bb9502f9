// The constant folder of shape arithmetic (onnx/fold.h): a small evaluator over typed tensors.
// Values are held as doubles (exact for every int32 and for int64 shape values below 2^53;
// larger int64 values, such as Slice's "to the end" INT64_MAX, stay larger than any dimension)
// and rounded to float32 after each operation on float tensors, as ONNX Runtime computes.
#include "onnx/fold.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_set>

#include "gammaq/error.h"

namespace gammaq::onnx_import {
namespace {

// Folded tensors are bounded: shape arithmetic is tiny, and a constant weight expression
// (a Transpose or Div of an initializer) is at most a layer's weight.
constexpr int64_t kMaxFolded = int64_t{1} << 26;

using onnx::TensorProto;

struct Val {
  int32_t type = TensorProto::FLOAT;
  std::vector<int64_t> dims;
  std::vector<double> v;
  [[nodiscard]] int64_t numel() const { return static_cast<int64_t>(v.size()); }
  [[nodiscard]] bool is_float() const {
    return type == TensorProto::FLOAT || type == TensorProto::DOUBLE ||
           type == TensorProto::FLOAT16;
  }
};

int64_t numel_of(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// Rounds v to the element type (float32 rounding, integer wrap is not modelled: shape values
// are small; integer results of float->int casts truncate toward zero as C does).
double to_type(double v, int32_t type) {
  switch (type) {
    case TensorProto::FLOAT: return static_cast<double>(static_cast<float>(v));
    case TensorProto::DOUBLE: return v;
    case TensorProto::BOOL: return v != 0.0 ? 1.0 : 0.0;
    default: return std::isfinite(v) ? std::trunc(v) : v;
  }
}

class Folder {
 public:
  Folder(onnx::GraphProto& g, int64_t opset, const StaticShapes& shapes, std::vector<int>& origin)
      : g_(g), opset_(opset), shapes_(shapes), origin_(origin) {
    for (const auto& init : g_.initializer()) init_[init.name()] = &init;
  }

  int run() {
    std::vector<bool> folded(static_cast<size_t>(g_.node_size()), false);
    int count = 0;
    for (int i = 0; i < g_.node_size(); ++i) {
      const onnx::NodeProto& n = g_.node(i);
      if (!(n.domain().empty() || n.domain() == "ai.onnx") || !is_foldable(n.op_type())) continue;
      label_ = node_label(n, origin_[static_cast<size_t>(i)]);
      std::optional<Val> out = fold(n);
      if (!out) continue;
      if (n.output_size() < 1 || n.output(0).empty()) continue;
      if (out->numel() > kMaxFolded) continue;
      vals_[n.output(0)] = std::move(*out);
      folded[static_cast<size_t>(i)] = true;
      ++count;
    }
    if (count == 0) return 0;
    // Rebuild: the nodes that did not fold, the folded values they (or the graph outputs) read
    // as initializers, and the initializers still read.
    std::unordered_set<std::string> used;
    for (int i = 0; i < g_.node_size(); ++i)
      if (!folded[static_cast<size_t>(i)])
        for (const auto& in : g_.node(i).input()) used.insert(in);
    for (const auto& o : g_.output()) used.insert(o.name());
    onnx::GraphProto out;
    out.set_name(g_.name());
    std::vector<int> origin;
    for (int i = 0; i < g_.node_size(); ++i)
      if (!folded[static_cast<size_t>(i)]) {
        *out.add_node() = g_.node(i);
        origin.push_back(origin_[static_cast<size_t>(i)]);
      }
    origin_ = std::move(origin);
    for (const auto& init : g_.initializer())
      if (used.count(init.name())) *out.add_initializer() = init;
    for (const auto& [name, val] : vals_)
      if (used.count(name) && !init_.count(name)) write(val, name, *out.add_initializer());
    *out.mutable_input() = g_.input();
    *out.mutable_output() = g_.output();
    *out.mutable_value_info() = g_.value_info();
    // Graph inputs listed for initializers that were dropped (IR < 4 models) go with them.
    auto* inputs = out.mutable_input();
    std::unordered_set<std::string> inits;
    for (const auto& init : out.initializer()) inits.insert(init.name());
    for (int k = inputs->size() - 1; k >= 0; --k)
      if (init_.count(inputs->Get(k).name()) && !inits.count(inputs->Get(k).name()))
        inputs->DeleteSubrange(k, 1);
    g_ = std::move(out);
    return count;
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    throw Error(ErrorKind::InvalidModel, str_cat(label_, ": ", what));
  }

  // The constant named `name`, or null when it is computed at run time.
  const Val* constant(const std::string& name) {
    if (auto it = vals_.find(name); it != vals_.end()) return &it->second;
    auto it = init_.find(name);
    if (it == init_.end()) return nullptr;
    std::optional<Val> v = read(*it->second);
    if (!v) return nullptr;
    return &(vals_[name] = std::move(*v));
  }

  std::optional<Val> read(const TensorProto& t) {
    if (t.data_location() == TensorProto::EXTERNAL) return std::nullopt;
    Val v;
    v.type = t.data_type();
    for (int64_t d : t.dims()) {
      if (d < 0 || d > kMaxFolded) return std::nullopt;
      v.dims.push_back(d);
    }
    const int64_t n = numel_of(v.dims);
    if (n > kMaxFolded) return std::nullopt;
    v.v.resize(static_cast<size_t>(n));
    auto from_raw = [&](auto zero) -> bool {
      using T = decltype(zero);
      if (t.raw_data().size() != static_cast<size_t>(n) * sizeof(T)) return false;
      for (int64_t i = 0; i < n; ++i) {
        T x;
        std::memcpy(&x, t.raw_data().data() + i * sizeof(T), sizeof(T));
        v.v[static_cast<size_t>(i)] = static_cast<double>(x);
      }
      return true;
    };
    auto from_field = [&](const auto& f) -> bool {
      if (f.size() != n) return false;
      for (int64_t i = 0; i < n; ++i) v.v[static_cast<size_t>(i)] = static_cast<double>(f[i]);
      return true;
    };
    bool ok = false;
    const bool raw = t.has_raw_data();
    switch (v.type) {
      case TensorProto::FLOAT: ok = raw ? from_raw(float{}) : from_field(t.float_data()); break;
      case TensorProto::DOUBLE: ok = raw ? from_raw(double{}) : from_field(t.double_data()); break;
      case TensorProto::INT64: ok = raw ? from_raw(int64_t{}) : from_field(t.int64_data()); break;
      case TensorProto::INT32: ok = raw ? from_raw(int32_t{}) : from_field(t.int32_data()); break;
      case TensorProto::BOOL: ok = raw ? from_raw(uint8_t{}) : from_field(t.int32_data()); break;
      default: return std::nullopt;  // other element types are left to the importer
    }
    if (!ok) return std::nullopt;  // the importer names the malformed tensor
    return v;
  }

  static void write(const Val& v, const std::string& name, TensorProto& t) {
    t.set_name(name);
    for (int64_t d : v.dims) t.add_dims(d);
    const int32_t type = v.type == TensorProto::FLOAT16 ? int32_t{TensorProto::FLOAT} : v.type;
    t.set_data_type(type);
    for (double x : v.v) {
      switch (type) {
        case TensorProto::FLOAT: t.add_float_data(static_cast<float>(x)); break;
        case TensorProto::DOUBLE: t.add_double_data(x); break;
        case TensorProto::INT64:
          t.add_int64_data(x >= 9.2e18    ? std::numeric_limits<int64_t>::max()
                           : x <= -9.2e18 ? std::numeric_limits<int64_t>::min()
                                          : static_cast<int64_t>(x));
          break;
        default: t.add_int32_data(static_cast<int32_t>(x)); break;
      }
    }
  }

  // ---- attribute readers
  static const onnx::AttributeProto* attr(const onnx::NodeProto& n, std::string_view name) {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  static int64_t attr_i(const onnx::NodeProto& n, std::string_view name, int64_t def) {
    const auto* a = attr(n, name);
    return a && a->type() == onnx::AttributeProto::INT ? a->i() : def;
  }
  static std::optional<std::vector<int64_t>> attr_ints(const onnx::NodeProto& n,
                                                       std::string_view name) {
    const auto* a = attr(n, name);
    if (!a || a->type() != onnx::AttributeProto::INTS) return std::nullopt;
    return std::vector<int64_t>(a->ints().begin(), a->ints().end());
  }

  // An axis in [-rank, rank) made non-negative.
  int64_t axis_of(int64_t axis, int64_t rank) const {
    if (axis < -rank || axis >= rank)
      fail(str_cat("axis ", axis, " is out of range for rank ", rank));
    return axis < 0 ? axis + rank : axis;
  }

  std::optional<std::vector<int64_t>> ints_of(const Val* v) const {
    if (!v) return std::nullopt;
    std::vector<int64_t> out;
    for (double x : v->v) {
      if (!std::isfinite(x)) fail("an integer input holds a non-finite value");
      out.push_back(x >= 9.2e18    ? std::numeric_limits<int64_t>::max()
                    : x <= -9.2e18 ? std::numeric_limits<int64_t>::min()
                                   : static_cast<int64_t>(x));
    }
    return out;
  }

  // Row-major strides of dims.
  static std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
    std::vector<int64_t> s(dims.size(), 1);
    for (size_t k = dims.size(); k-- > 1;) s[k - 1] = s[k] * dims[k];
    return s;
  }

  // Numpy broadcasting of the operands' shapes; nullopt-free: fails on a mismatch.
  std::vector<int64_t> broadcast_dims(const std::vector<const Val*>& in) const {
    size_t r = 0;
    for (const Val* v : in) r = std::max(r, v->dims.size());
    std::vector<int64_t> out(r, 1);
    for (const Val* v : in)
      for (size_t k = 0; k < v->dims.size(); ++k) {
        int64_t& d = out[r - v->dims.size() + k];
        const int64_t s = v->dims[k];
        if (s != 1 && d != 1 && s != d) fail("operand shapes do not broadcast");
        if (s != 1) d = s;
      }
    return out;
  }

  // Offset into v of the broadcast element at flat index i of `dims`.
  static int64_t broadcast_offset(const Val& v, const std::vector<int64_t>& dims, int64_t i) {
    int64_t off = 0, stride = 1;
    for (size_t k = 0; k < v.dims.size(); ++k) {
      const size_t vd = v.dims.size() - 1 - k, od = dims.size() - 1 - k;
      int64_t rem = i;
      for (size_t j = dims.size() - 1; j > od; --j) rem /= dims[j];
      const int64_t idx = rem % dims[od];
      if (v.dims[vd] != 1) off += idx * stride;
      stride *= v.dims[vd];
    }
    return off;
  }

  template <typename F>
  std::optional<Val> elementwise(const std::vector<const Val*>& in, int32_t type, F f) const {
    Val out;
    out.type = type;
    out.dims = broadcast_dims(in);
    const int64_t n = numel_of(out.dims);
    if (n > kMaxFolded) return std::nullopt;
    out.v.resize(static_cast<size_t>(n));
    std::vector<double> args(in.size());
    for (int64_t i = 0; i < n; ++i) {
      for (size_t k = 0; k < in.size(); ++k)
        args[k] = in[k]->v[static_cast<size_t>(broadcast_offset(*in[k], out.dims, i))];
      out.v[static_cast<size_t>(i)] = to_type(f(args), type);
    }
    return out;
  }

  // Copies the elements of `in` at the positions `index` maps each output position to.
  template <typename Index>
  static Val gather_by(const Val& in, std::vector<int64_t> dims, Index index) {
    Val out;
    out.type = in.type;
    out.dims = std::move(dims);
    const int64_t n = numel_of(out.dims);
    out.v.resize(static_cast<size_t>(n));
    const auto ost = strides_of(out.dims);
    std::vector<int64_t> pos(out.dims.size());
    for (int64_t i = 0; i < n; ++i) {
      int64_t rem = i;
      for (size_t k = 0; k < pos.size(); ++k) {
        pos[k] = rem / ost[k];
        rem %= ost[k];
      }
      out.v[static_cast<size_t>(i)] = in.v[static_cast<size_t>(index(pos))];
    }
    return out;
  }

  // The node's value, or nullopt when an input is not constant (or it is not worth folding).
  std::optional<Val> fold(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    if (op == "Constant") return fold_constant_node(n);
    if (op == "Shape" || op == "Size") {
      auto it = n.input_size() > 0 ? shapes_.find(n.input(0)) : shapes_.end();
      std::optional<std::vector<int64_t>> dims;
      if (it != shapes_.end())
        dims = it->second;
      else if (const Val* c = n.input_size() > 0 ? constant(n.input(0)) : nullptr)
        dims = c->dims;
      if (!dims) return std::nullopt;
      Val out;
      out.type = TensorProto::INT64;
      if (op == "Size") {
        out.v = {static_cast<double>(numel_of(*dims))};
        return out;
      }
      const int64_t r = static_cast<int64_t>(dims->size());
      int64_t start = attr_i(n, "start", 0), end = attr_i(n, "end", r);
      if (start < 0) start += r;
      if (end < 0) end += r;
      start = std::clamp<int64_t>(start, 0, r);
      end = std::clamp<int64_t>(end, start, r);
      for (int64_t k = start; k < end; ++k) out.v.push_back(static_cast<double>((*dims)[k]));
      out.dims = {end - start};
      return out;
    }
    std::vector<const Val*> in;
    for (const auto& name : n.input()) {
      if (name.empty()) {
        in.push_back(nullptr);
        continue;
      }
      const Val* c = constant(name);
      if (!c) return std::nullopt;
      in.push_back(c);
    }
    auto arg = [&](size_t k) -> const Val* { return k < in.size() ? in[k] : nullptr; };
    if (in.empty() || !in[0]) return std::nullopt;
    const Val& x = *in[0];
    const int64_t rank = static_cast<int64_t>(x.dims.size());

    if (op == "Identity") return x;
    if (op == "Cast") {
      Val out = x;
      out.type = static_cast<int32_t>(attr_i(n, "to", TensorProto::FLOAT));
      if (out.type != TensorProto::FLOAT && out.type != TensorProto::DOUBLE &&
          out.type != TensorProto::INT64 && out.type != TensorProto::INT32 &&
          out.type != TensorProto::BOOL)
        return std::nullopt;
      for (double& e : out.v) e = to_type(e, out.type);
      return out;
    }
    if (op == "Neg" || op == "Abs" || op == "Floor" || op == "Ceil" || op == "Sqrt" ||
        op == "Reciprocal" || op == "Not") {
      return elementwise({&x}, x.type, [&](const std::vector<double>& a) {
        const double e = a[0];
        if (op == "Neg") return -e;
        if (op == "Abs") return std::fabs(e);
        if (op == "Floor") return std::floor(e);
        if (op == "Ceil") return std::ceil(e);
        if (op == "Sqrt") return std::sqrt(e);
        if (op == "Not") return e == 0.0 ? 1.0 : 0.0;
        return 1.0 / e;
      });
    }
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow" || op == "Mod") {
      if (!arg(1)) return std::nullopt;
      const bool integer = !x.is_float();
      return elementwise({&x, in[1]}, x.type, [&](const std::vector<double>& a) {
        if (op == "Add") return a[0] + a[1];
        if (op == "Sub") return a[0] - a[1];
        if (op == "Mul") return a[0] * a[1];
        if (op == "Pow") return std::pow(a[0], a[1]);
        if (integer && a[1] == 0.0) fail("integer division by zero");
        if (op == "Mod")  // fmod=0 on integers: the sign of the divisor, as Python's %
          return integer && attr_i(n, "fmod", 0) == 0 ? a[0] - std::floor(a[0] / a[1]) * a[1]
                                                      : std::fmod(a[0], a[1]);
        return integer ? std::trunc(a[0] / a[1]) : a[0] / a[1];
      });
    }
    if (op == "Min" || op == "Max" || op == "Sum") {
      for (const Val* v : in)
        if (!v) return std::nullopt;
      return elementwise(in, x.type, [&](const std::vector<double>& a) {
        double r = a[0];
        for (size_t k = 1; k < a.size(); ++k)
          r = op == "Min" ? std::min(r, a[k]) : op == "Max" ? std::max(r, a[k]) : r + a[k];
        return r;
      });
    }
    if (op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" ||
        op == "GreaterOrEqual" || op == "And" || op == "Or") {
      if (!arg(1)) return std::nullopt;
      return elementwise({&x, in[1]}, TensorProto::BOOL, [&](const std::vector<double>& a) {
        bool r = false;
        if (op == "Equal") r = a[0] == a[1];
        if (op == "Less") r = a[0] < a[1];
        if (op == "Greater") r = a[0] > a[1];
        if (op == "LessOrEqual") r = a[0] <= a[1];
        if (op == "GreaterOrEqual") r = a[0] >= a[1];
        if (op == "And") r = a[0] != 0 && a[1] != 0;
        if (op == "Or") r = a[0] != 0 || a[1] != 0;
        return r ? 1.0 : 0.0;
      });
    }
    if (op == "Where") {
      if (!arg(1) || !arg(2)) return std::nullopt;
      return elementwise({&x, in[1], in[2]}, in[1]->type,
                         [](const std::vector<double>& a) { return a[0] != 0 ? a[1] : a[2]; });
    }
    if (op == "Gather") {
      if (!arg(1)) return std::nullopt;
      const int64_t axis = axis_of(attr_i(n, "axis", 0), rank);
      const auto idx = ints_of(in[1]);
      const int64_t dim = x.dims[static_cast<size_t>(axis)];
      std::vector<int64_t> ix = *idx;
      for (int64_t& i : ix) {
        if (i < -dim || i >= dim)
          fail(str_cat("index ", i, " is out of range [", -dim, ", ", dim, ")"));
        if (i < 0) i += dim;
      }
      std::vector<int64_t> dims(x.dims.begin(), x.dims.begin() + axis);
      dims.insert(dims.end(), in[1]->dims.begin(), in[1]->dims.end());
      dims.insert(dims.end(), x.dims.begin() + axis + 1, x.dims.end());
      if (numel_of(dims) > kMaxFolded) return std::nullopt;
      const auto xst = strides_of(x.dims);
      const auto ist = strides_of(in[1]->dims);
      const size_t ir = in[1]->dims.size();
      return gather_by(x, dims, [&](const std::vector<int64_t>& pos) {
        int64_t off = 0, flat = 0;
        for (int64_t k = 0; k < axis; ++k)
          off += pos[static_cast<size_t>(k)] * xst[static_cast<size_t>(k)];
        for (size_t k = 0; k < ir; ++k) flat += pos[static_cast<size_t>(axis) + k] * ist[k];
        off += ix[static_cast<size_t>(flat)] * xst[static_cast<size_t>(axis)];
        for (int64_t k = axis + 1; k < rank; ++k)
          off += pos[static_cast<size_t>(k) - 1 + ir] * xst[static_cast<size_t>(k)];
        return off;
      });
    }
    if (op == "Unsqueeze" || op == "Squeeze") {
      std::optional<std::vector<int64_t>> axes =
          opset_ >= 13 ? (arg(1) ? ints_of(in[1]) : std::nullopt) : attr_ints(n, "axes");
      Val out = x;
      if (op == "Unsqueeze") {
        if (!axes) fail("Unsqueeze needs axes");
        const int64_t r = rank + static_cast<int64_t>(axes->size());
        std::vector<bool> ins(static_cast<size_t>(r), false);
        for (int64_t a : *axes) {
          const int64_t k = axis_of(a, r);
          if (ins[static_cast<size_t>(k)]) fail("repeated axis");
          ins[static_cast<size_t>(k)] = true;
        }
        out.dims.clear();
        size_t src = 0;
        for (int64_t k = 0; k < r; ++k)
          out.dims.push_back(ins[static_cast<size_t>(k)] ? 1 : x.dims[src++]);
        return out;
      }
      std::vector<bool> drop(static_cast<size_t>(rank), false);
      if (axes) {
        for (int64_t a : *axes) {
          const int64_t k = axis_of(a, rank);
          if (x.dims[static_cast<size_t>(k)] != 1)
            fail(str_cat("cannot squeeze axis ", a, " of size ", x.dims[static_cast<size_t>(k)]));
          drop[static_cast<size_t>(k)] = true;
        }
      } else {
        for (int64_t k = 0; k < rank; ++k)
          drop[static_cast<size_t>(k)] = x.dims[static_cast<size_t>(k)] == 1;
      }
      out.dims.clear();
      for (int64_t k = 0; k < rank; ++k)
        if (!drop[static_cast<size_t>(k)]) out.dims.push_back(x.dims[static_cast<size_t>(k)]);
      return out;
    }
    if (op == "Concat") {
      for (const Val* v : in)
        if (!v) return std::nullopt;
      const int64_t axis = axis_of(attr_i(n, "axis", 0), rank);
      std::vector<int64_t> dims = x.dims;
      dims[static_cast<size_t>(axis)] = 0;
      for (const Val* v : in) {
        if (v->dims.size() != x.dims.size()) fail("Concat inputs differ in rank");
        for (int64_t k = 0; k < rank; ++k)
          if (k != axis && v->dims[static_cast<size_t>(k)] != x.dims[static_cast<size_t>(k)])
            fail("Concat inputs differ outside the axis");
        dims[static_cast<size_t>(axis)] += v->dims[static_cast<size_t>(axis)];
      }
      Val out;
      out.type = x.type;
      out.dims = dims;
      int64_t outer = 1, inner = 1;
      for (int64_t k = 0; k < axis; ++k) outer *= dims[static_cast<size_t>(k)];
      for (int64_t k = axis + 1; k < rank; ++k) inner *= dims[static_cast<size_t>(k)];
      for (int64_t o = 0; o < outer; ++o)
        for (const Val* v : in) {
          const int64_t chunk = v->dims[static_cast<size_t>(axis)] * inner;
          out.v.insert(out.v.end(), v->v.begin() + o * chunk, v->v.begin() + (o + 1) * chunk);
        }
      return out;
    }
    if (op == "Slice") {
      std::optional<std::vector<int64_t>> starts, ends, axes, steps;
      if (opset_ >= 10) {
        if (!arg(1) || !arg(2)) return std::nullopt;
        starts = ints_of(in[1]);
        ends = ints_of(in[2]);
        if (arg(3)) axes = ints_of(in[3]);
        if (arg(4)) steps = ints_of(in[4]);
      } else {
        starts = attr_ints(n, "starts");
        ends = attr_ints(n, "ends");
        axes = attr_ints(n, "axes");
      }
      if (!starts || !ends || starts->size() != ends->size())
        fail("starts and ends differ in length");
      return slice(x, *starts, *ends, axes, steps);
    }
    if (op == "ConstantOfShape") {
      const auto dims = ints_of(&x);
      Val out;
      out.type = TensorProto::FLOAT;
      double value = 0.0;
      if (const auto* a = attr(n, "value"); a && a->type() == onnx::AttributeProto::TENSOR) {
        std::optional<Val> v = read(a->t());
        if (!v || v->numel() != 1) fail("attribute 'value' must hold one element");
        out.type = v->type;
        value = v->v[0];
      }
      for (int64_t d : *dims)
        if (d < 0) fail(str_cat("negative dimension ", d));
      out.dims = *dims;
      if (numel_of(out.dims) > kMaxFolded) return std::nullopt;
      out.v.assign(static_cast<size_t>(numel_of(out.dims)), value);
      return out;
    }
    if (op == "Range") {
      if (!arg(1) || !arg(2)) return std::nullopt;
      const double start = x.v.at(0), limit = in[1]->v.at(0), delta = in[2]->v.at(0);
      if (delta == 0) fail("delta is 0");
      const double count = std::max(0.0, std::ceil((limit - start) / delta));
      if (count > static_cast<double>(kMaxFolded)) return std::nullopt;
      Val out;
      out.type = x.type;
      out.dims = {static_cast<int64_t>(count)};
      for (int64_t i = 0; i < out.dims[0]; ++i)
        out.v.push_back(to_type(start + static_cast<double>(i) * delta, x.type));
      return out;
    }
    if (op == "Reshape" || op == "Flatten") {
      std::vector<int64_t> dims;
      if (op == "Flatten") {
        const int64_t axis =
            attr_i(n, "axis", 1) < 0 ? attr_i(n, "axis", 1) + rank : attr_i(n, "axis", 1);
        if (axis < 0 || axis > rank) fail("axis is out of range");
        int64_t a = 1;
        for (int64_t k = 0; k < axis; ++k) a *= x.dims[static_cast<size_t>(k)];
        dims = {a, x.numel() / std::max<int64_t>(a, 1)};
      } else {
        if (!arg(1)) return std::nullopt;
        dims = *ints_of(in[1]);
        const bool allowzero = attr_i(n, "allowzero", 0) != 0;
        int64_t known = 1, infer = -1;
        for (size_t k = 0; k < dims.size(); ++k) {
          if (dims[k] == 0 && !allowzero) {
            if (k >= x.dims.size()) fail("0 in the target shape beyond the input's rank");
            dims[k] = x.dims[k];
          }
          if (dims[k] == -1) {
            if (infer >= 0) fail("more than one -1 in the target shape");
            infer = static_cast<int64_t>(k);
          } else if (dims[k] < 0) {
            fail(str_cat("invalid dimension ", dims[k], " in the target shape"));
          } else {
            known *= dims[k];
          }
        }
        if (infer >= 0) dims[static_cast<size_t>(infer)] = known == 0 ? 0 : x.numel() / known;
      }
      if (numel_of(dims) != x.numel()) fail("the target shape does not hold the input's elements");
      Val out = x;
      out.dims = dims;
      return out;
    }
    if (op == "Expand") {
      if (!arg(1)) return std::nullopt;
      Val shape;
      shape.dims = *ints_of(in[1]);
      for (int64_t d : shape.dims)
        if (d < 0) fail(str_cat("negative dimension ", d));
      shape.v.assign(static_cast<size_t>(numel_of(shape.dims)), 0.0);
      return elementwise({&x, &shape}, x.type, [](const std::vector<double>& a) { return a[0]; });
    }
    if (op == "Transpose") {
      std::vector<int64_t> perm(static_cast<size_t>(rank));
      for (int64_t k = 0; k < rank; ++k) perm[static_cast<size_t>(k)] = rank - 1 - k;
      if (auto p = attr_ints(n, "perm")) perm = *p;
      if (static_cast<int64_t>(perm.size()) != rank) fail("perm does not match the rank");
      std::vector<bool> seen(static_cast<size_t>(rank), false);
      for (int64_t p : perm) {
        if (p < 0 || p >= rank || seen[static_cast<size_t>(p)]) fail("perm is not a permutation");
        seen[static_cast<size_t>(p)] = true;
      }
      std::vector<int64_t> dims;
      for (int64_t p : perm) dims.push_back(x.dims[static_cast<size_t>(p)]);
      const auto xst = strides_of(x.dims);
      return gather_by(x, dims, [&](const std::vector<int64_t>& pos) {
        int64_t off = 0;
        for (size_t k = 0; k < pos.size(); ++k) off += pos[k] * xst[static_cast<size_t>(perm[k])];
        return off;
      });
    }
    return std::nullopt;
  }

  Val slice(const Val& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
            const std::optional<std::vector<int64_t>>& axes_in,
            const std::optional<std::vector<int64_t>>& steps_in) const {
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    std::vector<int64_t> begin(static_cast<size_t>(rank), 0), step(static_cast<size_t>(rank), 1),
        dims = x.dims;
    for (size_t i = 0; i < starts.size(); ++i) {
      const int64_t axis = axis_of(axes_in ? axes_in->at(i) : static_cast<int64_t>(i), rank);
      const int64_t st = steps_in ? steps_in->at(i) : 1;
      if (st == 0) fail("a step is 0");
      const auto [b, count] =
          slice_range(starts[i], ends[i], st, x.dims[static_cast<size_t>(axis)]);
      begin[static_cast<size_t>(axis)] = b;
      step[static_cast<size_t>(axis)] = st;
      dims[static_cast<size_t>(axis)] = count;
    }
    const auto xst = strides_of(x.dims);
    return gather_by(x, dims, [&](const std::vector<int64_t>& pos) {
      int64_t off = 0;
      for (size_t k = 0; k < pos.size(); ++k) off += (begin[k] + pos[k] * step[k]) * xst[k];
      return off;
    });
  }

  std::optional<Val> fold_constant_node(const onnx::NodeProto& n) {
    if (n.attribute_size() != 1) return std::nullopt;
    const auto& a = n.attribute(0);
    Val v;
    if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) return read(a.t());
    if (a.name() == "value_float" && a.type() == onnx::AttributeProto::FLOAT) {
      v.v = {a.f()};
    } else if (a.name() == "value_floats" && a.type() == onnx::AttributeProto::FLOATS) {
      v.v.assign(a.floats().begin(), a.floats().end());
      v.dims = {a.floats_size()};
    } else if (a.name() == "value_int" && a.type() == onnx::AttributeProto::INT) {
      v.type = TensorProto::INT64;
      v.v = {static_cast<double>(a.i())};
    } else if (a.name() == "value_ints" && a.type() == onnx::AttributeProto::INTS) {
      v.type = TensorProto::INT64;
      for (int64_t i : a.ints()) v.v.push_back(static_cast<double>(i));
      v.dims = {a.ints_size()};
    } else {
      return std::nullopt;
    }
    return v;
  }

  onnx::GraphProto& g_;
  int64_t opset_;
  const StaticShapes& shapes_;
  std::vector<int>& origin_;
  std::unordered_map<std::string, const TensorProto*> init_;
  std::unordered_map<std::string, Val> vals_;
  std::string label_;
};

}  // namespace

std::pair<int64_t, int64_t> slice_range(int64_t start, int64_t end, int64_t step, int64_t dim) {
  if (start < 0) start += dim;  // no overflow: only negative values move, by at most 2^31
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return {start, end > start ? (end - start + step - 1) / step : 0};
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  return {start, start > end ? (start - end - step - 1) / (-step) : 0};
}

bool is_foldable(std::string_view op) noexcept {
  static const std::unordered_set<std::string_view> kOps = {
      "Shape",      "Size",        "Gather",
      "Unsqueeze",  "Squeeze",     "Concat",
      "Cast",       "Slice",       "ConstantOfShape",
      "Range",      "Add",         "Sub",
      "Mul",        "Div",         "Pow",
      "Mod",        "Min",         "Max",
      "Sum",        "Equal",       "Less",
      "Greater",    "LessOrEqual", "GreaterOrEqual",
      "And",        "Or",          "Not",
      "Where",      "Neg",         "Abs",
      "Floor",      "Ceil",        "Sqrt",
      "Reciprocal", "Identity",    "Reshape",
      "Flatten",    "Expand",      "Transpose",
      "Constant"};
  return kOps.count(op) > 0;
}

int fold_rank(const RankIo& r) {
  const onnx::NodeProto& n = r.n;
  const std::string& op = n.op_type();
  auto length = [&](int k) -> int64_t {  // length of 1-D input k, -1 when unknown
    if (k >= n.input_size()) return -1;
    auto it = r.length.find(n.input(k));
    return it == r.length.end() ? -1 : it->second;
  };
  auto values = [&](int k) -> const std::vector<int64_t>* {
    if (k >= n.input_size()) return nullptr;
    auto it = r.values.find(n.input(k));
    return it == r.values.end() ? nullptr : &it->second;
  };
  auto attr_ints = [&](std::string_view name) -> std::optional<std::vector<int64_t>> {
    for (const auto& a : n.attribute())
      if (a.name() == name) return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    return std::nullopt;
  };
  auto record = [&](int rank, int64_t len) {
    if (rank == 1 && len >= 0 && n.output_size() > 0) r.length[n.output(0)] = len;
    return rank;
  };
  const int r0 = r.in_rank(0);
  if (op == "Shape") {
    if (r0 < 0) return 1;
    int64_t start = 0, end = r0;
    for (const auto& a : n.attribute()) {
      if (a.name() == "start") start = a.i();
      if (a.name() == "end") end = a.i();
    }
    return record(1, slice_range(start, end, 1, r0).second);
  }
  if (op == "Size") return 0;
  if (op == "Range") return 1;
  if (op == "Gather") {
    const int r1 = r.in_rank(1);
    if (r0 < 0 || r1 < 0) return -1;
    return record(r0 - 1 + r1, r0 == 1 && r1 == 1 ? length(1) : -1);
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    std::optional<std::vector<int64_t>> axes;
    if (n.input_size() > 1) {
      if (const auto* v = values(1)) axes = *v;
    } else {
      axes = attr_ints("axes");
    }
    if (r0 < 0 || !axes) return -1;
    const int count = static_cast<int>(axes->size());
    if (op == "Unsqueeze") return record(r0 + count, r0 == 0 ? 1 : -1);
    return r0 - count;
  }
  if (op == "Concat") {
    int64_t sum = 0;
    for (int k = 0; k < n.input_size(); ++k) {
      const int64_t l = length(k);
      sum = l < 0 || sum < 0 ? -1 : sum + l;
    }
    return record(r0, r0 == 1 ? sum : -1);
  }
  if (op == "Slice") {
    const auto* starts = values(1);
    const auto* ends = values(2);
    const int64_t len = length(0);
    if (r0 != 1 || !starts || !ends || len < 0 || starts->size() != 1 || ends->size() != 1)
      return r0;
    const auto* steps = values(4);
    const int64_t step = steps && steps->size() == 1 ? (*steps)[0] : 1;
    if (step == 0) return r0;
    return record(1, slice_range((*starts)[0], (*ends)[0], step, len).second);
  }
  if (op == "ConstantOfShape") return static_cast<int>(std::min<int64_t>(length(0), 8));
  if (op == "Expand") {
    const int64_t l = length(1);
    return r0 < 0 || l < 0 ? -1 : static_cast<int>(std::max<int64_t>(r0, std::min<int64_t>(l, 8)));
  }
  // Elementwise (unary, binary, variadic, Where): the broadcast rank; a 1-D result keeps the
  // longest operand's length.
  int rank = 0;
  int64_t len = 0;
  for (int k = 0; k < n.input_size(); ++k) {
    if (n.input(k).empty()) continue;
    const int rk = r.in_rank(k);
    if (rk < 0) return -1;
    rank = std::max(rank, rk);
    const int64_t l = rk == 0 ? 1 : rk == 1 ? length(k) : -1;
    len = l < 0 || len < 0 ? -1 : std::max(len, l);
  }
  if (op == "Transpose" || op == "Identity" || op == "Cast") len = length(0);
  return record(rank, len);
}

int fold_constants(onnx::GraphProto& g, int64_t opset, const StaticShapes& shapes,
                   std::vector<int>& origin) {
  return Folder(g, opset, shapes, origin).run();
}

}  // namespace gammaq::onnx_import
