// Internal to the QDQ export and the operators' qdq hooks (src/ops/op.h OpDef::qdq): the writer
// of one QDQ ONNX model -- initializers, nodes, and the QuantizeLinear/DequantizeLinear pairs
// around every quantized value.
#pragma once

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "engine/fake_quant.h"
#include "export/qdq.h"
#include "gammaq/error.h"
#include "ops/op.h"

namespace gammaq {

// TensorProto.DataType values (INT4/UINT4 are newer than the onnx headers Debian ships; the
// field is a plain int32, so the numbers of onnx.proto are written directly).
inline constexpr int32_t kFloat = 1, kUint8 = 2, kInt8 = 3, kUint16 = 4, kInt16 = 5, kInt32 = 6,
                         kInt64 = 7, kUint4 = 21, kInt4 = 22;

// The ONNX integer type that holds a format's codes.
struct Container {
  int bits = 8;
  bool is_signed = true;
  [[nodiscard]] int32_t dtype() const {
    if (bits == 4) return is_signed ? kInt4 : kUint4;
    if (bits == 8) return is_signed ? kInt8 : kUint8;
    return is_signed ? kInt16 : kUint16;
  }
  [[nodiscard]] int64_t qmin() const { return is_signed ? -(int64_t{1} << (bits - 1)) : 0; }
  [[nodiscard]] int64_t qmax() const {
    return is_signed ? (int64_t{1} << (bits - 1)) - 1 : (int64_t{1} << bits) - 1;
  }
};

inline Container container_of(const quant::Format& f, bool int4) {
  const int bits = f.bits <= 4 && int4 ? 4 : (f.bits <= 8 ? 8 : 16);
  return {bits, f.is_signed};
}

// Two's-complement little-endian bytes of codes in a container; 4-bit codes two per byte,
// the first in the low nibble (onnx.proto).
inline std::string pack(const std::vector<int64_t>& codes, int bits) {
  std::string out;
  if (bits == 4) {
    out.assign((codes.size() + 1) / 2, '\0');
    for (size_t i = 0; i < codes.size(); ++i)
      out[i / 2] = static_cast<char>(static_cast<unsigned char>(out[i / 2]) |
                                     ((static_cast<uint64_t>(codes[i]) & 0xF) << (4 * (i % 2))));
    return out;
  }
  const int bytes = bits / 8;
  out.reserve(codes.size() * static_cast<size_t>(bytes));
  for (int64_t c : codes)
    for (int b = 0; b < bytes; ++b)
      out.push_back(static_cast<char>((static_cast<uint64_t>(c) >> (8 * b)) & 0xFF));
  return out;
}

// What an activation (fused, or a standalone Relu/Clip/LeakyRelu node) computes.
struct Act {
  Activation kind = Activation::None;
  float min = 0.0f, max = 0.0f, alpha = 0.0f;
};

inline Act act_of(const Node& n) {
  const Activation standalone = ops::def(n.op).fuses_as;
  if (standalone != Activation::None)
    return {standalone, n.attrs.clip_min, n.attrs.clip_max, n.attrs.alpha};
  return {n.attrs.activation, n.attrs.act_min, n.attrs.act_max, n.attrs.act_alpha};
}

class QdqWriter {
 public:
  QdqWriter(const Graph& g, const quant::QuantPlan& plan, const QdqOptions& options, int64_t opset,
            QdqReport& report)
      : g_(g),
        plan_(plan),
        options_(options),
        opset_(opset),
        report_(report),
        fq_(resolve_plan(g, plan)) {
    for (const Value& v : g.values) used_.insert(v.name);
    name_of_.resize(g.values.size());
    for (size_t v = 0; v < g.values.size(); ++v) name_of_[v] = g.values[v].name;
  }

  std::string run() {
    model_.set_ir_version(opset_ >= 21 ? 10 : 7);
    model_.set_producer_name("gammaq");
    model_.set_model_version(1);
    auto* os = model_.add_opset_import();
    os->set_domain("");
    os->set_version(opset_);
    gp_ = model_.mutable_graph();
    gp_->set_name(g_.name + "_qdq");
    if (g_.nhwc_input) {
      // The file's interface: an N x H x W x C input transposed to gammaq's NCHW input.
      const std::string nchw = name_of_[static_cast<size_t>(g_.input)];
      const std::string nhwc = unique(nchw + "/nhwc");
      value_info(gp_->add_input(), g_.input);
      auto* in = gp_->mutable_input(gp_->input_size() - 1);
      in->set_name(nhwc);
      auto* dims = in->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim();
      const auto c = dims->Get(1);
      *dims->Mutable(1) = dims->Get(2);
      *dims->Mutable(2) = dims->Get(3);
      *dims->Mutable(3) = c;
      attr(node("Transpose", nchw + "/Transpose", {nhwc}, nchw), "perm",
           std::vector<int64_t>{0, 3, 1, 2});
    } else {
      value_info(gp_->add_input(), g_.input);
    }
    if (fq_.value_format[static_cast<size_t>(g_.input)]) {
      const std::string dst = unique(g_.values[static_cast<size_t>(g_.input)].name + "/dq");
      quantize(name_of_[static_cast<size_t>(g_.input)], {}, g_.input, dst);
      name_of_[static_cast<size_t>(g_.input)] = dst;
    }
    for (const Node& n : g_.nodes) emit(n);
    for (int out : graph_outputs(g_)) value_info(gp_->add_output(), out);
    for (const auto& [k, v] : g_.metadata) add_meta(k, v);
    add_meta("gammaq.qdq",
             nlohmann::ordered_json{{"model", plan_.model},
                                    {"model_sha256", plan_.model_sha256},
                                    {"method", plan_.method},
                                    {"wbits", plan_.wbits},
                                    {"abits", plan_.abits},
                                    {"rounding", quant::rounding_name(plan_.rounding)}}
                 .dump());
    if (opset_ <= 17) {  // the onnx library here knows opsets up to 17
      try {
        onnx::checker::check_model(model_);
      } catch (const std::exception& e) {
        GAMMAQ_CHECK(false, "QDQ export of '", g_.name, "' fails the ONNX checker: ", e.what());
      }
    }
    std::string bytes;
    GAMMAQ_CHECK(model_.SerializeToString(&bytes), "QDQ export: cannot serialize the model");
    return bytes;
  }

  std::string unique(std::string name) {
    std::string n = name;
    for (int k = 2; used_.count(n); ++k) n = str_cat(name, "#", k);
    used_.insert(n);
    return n;
  }

  void add_meta(const std::string& key, const std::string& value) {
    auto* p = model_.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
  }

  void value_info(onnx::ValueInfoProto* vi, int v) {
    vi->set_name(name_of_[static_cast<size_t>(v)]);
    auto* t = vi->mutable_type()->mutable_tensor_type();
    t->set_elem_type(kFloat);
    auto* shape = t->mutable_shape();
    const Shape& s = g_.values[static_cast<size_t>(v)].shape;
    for (size_t k = 0; k < s.size(); ++k) {
      auto* d = shape->add_dim();
      if (k == 0)
        d->set_dim_param("N");
      else
        d->set_dim_value(s[k]);
    }
  }

  onnx::TensorProto* initializer(const std::string& name, int32_t dtype,
                                 const std::vector<int64_t>& dims) {
    auto* t = gp_->add_initializer();
    t->set_name(name);
    t->set_data_type(dtype);
    for (int64_t d : dims) t->add_dims(d);
    return t;
  }
  std::string floats(const std::string& base, const std::vector<int64_t>& dims,
                     const std::vector<float>& values) {
    const std::string name = unique(base);
    auto* t = initializer(name, kFloat, dims);
    for (float x : values) t->add_float_data(x);
    return name;
  }
  std::string int64s(const std::string& base, const std::vector<int64_t>& values) {
    const std::string name = unique(base);
    auto* t = initializer(name, kInt64, {static_cast<int64_t>(values.size())});
    for (int64_t x : values) t->add_int64_data(x);
    return name;
  }
  std::string codes(const std::string& base, int32_t dtype, int bits,
                    const std::vector<int64_t>& dims, const std::vector<int64_t>& values) {
    const std::string name = unique(base);
    initializer(name, dtype, dims)->set_raw_data(pack(values, bits));
    return name;
  }

  onnx::NodeProto* node(const std::string& op, const std::string& name,
                        const std::vector<std::string>& inputs, const std::string& output) {
    auto* n = gp_->add_node();
    n->set_op_type(op);
    n->set_name(unique(name));
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
  }
  static void attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  // The window attributes Conv and the pools share (gammaq's pads are ONNX's order).
  static void window(onnx::NodeProto* n, const Attributes& a) {
    attr(n, "kernel_shape", a.kernel);
    attr(n, "strides", a.strides);
    attr(n, "pads", a.pads);
  }

  // Scale(s) 2^-frac and zero point(s) 0 of a container; one value per entry of fracs (a
  // scalar when `per_axis` is false).
  std::pair<std::string, std::string> scale_zero(const std::string& base, int32_t zero_dtype,
                                                 int zero_bits, const std::vector<int>& fracs,
                                                 bool per_axis, int64_t zero = 0) {
    std::vector<float> s;
    for (int f : fracs) s.push_back(static_cast<float>(std::ldexp(1.0, -f)));
    const std::vector<int64_t> dims = per_axis
                                          ? std::vector<int64_t>{static_cast<int64_t>(fracs.size())}
                                          : std::vector<int64_t>{};
    return {floats(base + "/scale", dims, s),
            codes(base + "/zero_point", zero_dtype, zero_bits, dims,
                  std::vector<int64_t>(per_axis ? fracs.size() : 1, zero))};
  }

  // src -> (fused ReLU/Clip merged with the format's range) -> QuantizeLinear ->
  // DequantizeLinear -> dst.
  void quantize(const std::string& src, const Act& act, int v, const std::string& dst) {
    const quant::Format& f = *fq_.value_format[static_cast<size_t>(v)];
    const Container c = container_of(f, false);
    const double step = std::ldexp(1.0, -f.frac);
    double lo = f.min_value(), hi = f.max_value();
    if (act.kind == Activation::Relu) lo = std::max(lo, 0.0);
    if (act.kind == Activation::Clip) {
      lo = std::max(lo, static_cast<double>(act.min));
      hi = std::min(hi, static_cast<double>(act.max));
    }
    const bool need_lo = lo > static_cast<double>(c.qmin()) * step;
    const bool need_hi = hi < static_cast<double>(c.qmax()) * step;
    std::string x = src;
    const std::string& base = dst;
    if (need_lo || need_hi) {
      const std::string clipped = unique(base + "/clipped");
      if (lo == 0.0 && !need_hi) {
        node("Relu", base + "/Relu", {x}, clipped);
      } else {
        const std::string mn = floats(base + "/min", {}, {static_cast<float>(lo)});
        const std::string mx = floats(base + "/max", {}, {static_cast<float>(hi)});
        node("Clip", base + "/Clip", {x, mn, mx}, clipped);
      }
      x = clipped;
    }
    if (f.bits < c.bits) ++report_.clipped_values;
    ++report_.quantized_values;
    const auto [scale, zero] = scale_zero(base, c.dtype(), c.bits, {f.frac}, false);
    const std::string q = unique(base + "/q");
    node("QuantizeLinear", base + "/QuantizeLinear", {x, scale, zero}, q);
    node("DequantizeLinear", base + "/DequantizeLinear", {q, scale, zero}, dst);
  }

  // src -> activation -> dst, in float.
  void activation(const std::string& src, const Act& act, const std::string& dst,
                  const std::string& base) {
    switch (act.kind) {
      case Activation::None: node("Identity", base + "/Identity", {src}, dst); return;
      case Activation::Relu: node("Relu", base + "/Relu", {src}, dst); return;
      case Activation::Sigmoid: node("Sigmoid", base + "/Sigmoid", {src}, dst); return;
      case Activation::LeakyRelu:
        attr(node("LeakyRelu", base + "/LeakyRelu", {src}, dst), "alpha", act.alpha);
        return;
      case Activation::Clip: {
        const std::string mn = floats(base + "/min", {}, {act.min});
        const std::string mx = floats(base + "/max", {}, {act.max});
        node("Clip", base + "/Clip", {src, mn, mx}, dst);
        return;
      }
    }
  }

  // The rest of a node after its operator wrote `src`: activation, quantization, into the
  // output value's name.
  void finish(const std::string& src, Act act, int out) {
    const std::string& dst = name_of_[static_cast<size_t>(out)];
    const auto& f = fq_.value_format[static_cast<size_t>(out)];
    if (!f) {
      activation(src, act, dst, dst);
      return;
    }
    std::string x = src;
    if (act.kind == Activation::LeakyRelu || act.kind == Activation::Sigmoid) {
      x = unique(dst + "/act");
      activation(src, act, x, dst);
      act = {};
    }
    quantize(x, act, out, dst);
  }

  // A constant read as is (Add/Mul operands, BatchNormalization parameters): float.
  std::string constant(int v) {
    const size_t id = static_cast<size_t>(v);
    if (!written_.insert(v).second) return name_of_[id];
    const Tensor& t = fq_.constant[id].data.empty() ? g_.values[id].data : fq_.constant[id];
    name_of_[id] = floats(g_.values[id].name, t.shape, t.data);
    return name_of_[id];
  }

  std::string input(int v) {
    return g_.values[static_cast<size_t>(v)].is_constant ? constant(v)
                                                         : name_of_[static_cast<size_t>(v)];
  }

  // Weight (and bias) of a Conv/Gemm as integer codes behind DequantizeLinear.
  std::vector<std::string> layer_inputs(const Node& n) {
    const quant::LayerFormat& l = plan_.layers.at(n.name);
    const auto& in = fq_.value_format[static_cast<size_t>(n.inputs[0])];
    const LayerCodes lc = layer_codes(g_, n, l, in ? *in : quant::Format{}, plan_.rounding);
    const Value& wv = g_.values[static_cast<size_t>(n.inputs[1])];
    const bool per_axis = !l.weight_channel_frac.empty();
    Container wc = container_of(l.weight, opset_ >= 21);
    std::vector<int64_t> w(lc.weight.begin(), lc.weight.end());
    int64_t zero = 0;
    if (options_.unsigned_weights && wc.bits == 8 && wc.is_signed) {
      wc.is_signed = false;
      zero = 128;
      for (int64_t& x : w) x += zero;
    }
    const std::string wq = codes(wv.name + "/q", wc.dtype(), wc.bits, wv.shape, w);
    const std::vector<int> wfrac =
        per_axis ? lc.weight_frac : std::vector<int>{lc.weight_frac.front()};
    const auto [ws, wz] = scale_zero(wv.name, wc.dtype(), wc.bits, wfrac, per_axis, zero);
    const std::string wd = unique(wv.name + "/dq");
    auto* dq = node("DequantizeLinear", wv.name + "/DequantizeLinear", {wq, ws, wz}, wd);
    if (per_axis) attr(dq, "axis", int64_t{0});
    std::vector<std::string> ins = {input(n.inputs[0]), wd};
    if (n.inputs.size() < 3) return ins;
    const int b = n.inputs[2];
    const bool fits = std::all_of(lc.bias.begin(), lc.bias.end(), [](int64_t x) {
      return x >= std::numeric_limits<int32_t>::min() && x <= std::numeric_limits<int32_t>::max();
    });
    if (!in || !fits) {
      if (in) {
        ++report_.float_biases;
        report_.warnings.push_back(str_cat("layer '", n.name,
                                           "': bias codes exceed int32; written as float (ONNX "
                                           "Runtime then runs the layer in float)"));
      }
      ins.push_back(constant(b));
      return ins;
    }
    const std::string bname = g_.values[static_cast<size_t>(b)].name;
    std::vector<int> bfrac;
    for (int f : wfrac) bfrac.push_back(f + lc.input_frac);
    const std::string bq =
        codes(bname + "/q", kInt32, 32, {static_cast<int64_t>(lc.bias.size())}, lc.bias);
    const auto [bs, bz] = scale_zero(bname, kInt32, 32, bfrac, per_axis);
    const std::string bd = unique(bname + "/dq");
    auto* bdq = node("DequantizeLinear", bname + "/DequantizeLinear", {bq, bs, bz}, bd);
    if (per_axis) attr(bdq, "axis", int64_t{0});
    ins.push_back(bd);
    return ins;
  }

  // Writes node n: its operator's qdq hook (or the operator as is), then the tail.
  void emit(const Node& n);

  // ---- state (public for the operators' hooks, which are part of the writer)
  const Graph& g_;
  const quant::QuantPlan& plan_;
  const QdqOptions& options_;
  int64_t opset_;
  QdqReport& report_;
  FakeQuant fq_;
  onnx::ModelProto model_;
  onnx::GraphProto* gp_ = nullptr;
  std::set<std::string> used_;
  std::set<int> written_;
  std::vector<std::string> name_of_;  // per value: the ONNX name its readers use
};

}  // namespace gammaq
