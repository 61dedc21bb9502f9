#include "onnx/import.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "gammaq/error.h"
#include "onnx/fold.h"
#include "onnx/import_rules.h"
#include "ops/op.h"

namespace gammaq {
namespace {

// Opsets 7 (numpy broadcasting of Add/Mul) through 21. libonnx here knows opsets up to 17: a
// model of 18-21 is checked and shape-inferred as 17 after the few operators whose signature
// changed are rewritten to their 17 form (canonicalize_new_opset).
constexpr int64_t kMinOpset = 7;
constexpr int64_t kMaxOpset = 21;
constexpr int64_t kLibOnnxOpset = 17;
constexpr int64_t kLibOnnxIr = 8;
constexpr size_t kMaxModelBytes = size_t{2} << 30;  // protobuf's own hard limit
constexpr int64_t kMaxImageSide = 16384;
constexpr int64_t kMaxImageElements = int64_t{1} << 28;

std::string first_line(const std::string& s) {
  const size_t nl = s.find('\n');
  std::string line = nl == std::string::npos ? s : s.substr(0, nl);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

using onnx_import::Context;

class Importer {
 public:
  Importer(onnx::ModelProto& model, std::string name, const ImportOptions& options)
      : model_(model), options_(options) {
    ctx_.g.name = std::move(name);
  }

  Graph run() {
    if (!model_.has_graph()) throw Error(ErrorKind::InvalidModel, "model has no graph");
    origin_.resize(static_cast<size_t>(model_.graph().node_size()));
    for (size_t i = 0; i < origin_.size(); ++i) origin_[i] = static_cast<int>(i);
    read_opset();
    cut_outputs();
    absorb_nhwc_input();
    apply_input_shape();
    check_supported_ops();
    canonicalize_new_opset();
    run_checker();
    // Shape arithmetic on constants folds first; what reads activations' shapes folds once
    // shape inference has given them, and shape inference then runs again on the folded graph.
    onnx_import::fold_constants(*model_.mutable_graph(), g_.opset, {}, origin_);
    check_ranks();
    run_inference();
    // Each round folds what the shapes known so far allow; a shape that depends on a folded
    // value (a Reshape's target) is known in the next round.
    while (onnx_import::fold_constants(*model_.mutable_graph(), g_.opset, static_shapes(),
                                       origin_) > 0) {
      check_ranks();
      run_inference();
    }
    for (const auto& p : model_.metadata_props()) g_.metadata[p.key()] = p.value();
    const onnx::GraphProto& gp = model_.graph();
    for (const auto& init : gp.initializer()) {
      try {
        ctx_.add_constant(init.name(), onnx_import::tensor_from_proto(init, true));
      } catch (const Error& e) {
        throw with_context(e, "initializer '" + init.name() + "'");
      }
    }
    add_graph_input();
    collect_shapes();
    for (const auto& n : gp.node())
      for (const auto& in : n.input()) ctx_.consumed.insert(in);
    for (const auto& out : gp.output()) ctx_.consumed.insert(out.name());
    for (int i = 0; i < gp.node_size(); ++i)
      onnx_import::import_node(ctx_, gp.node(i), origin_[static_cast<size_t>(i)]);
    if (gp.output_size() < 1) throw Error(ErrorKind::InvalidModel, "graph has no output");
    for (int k = 0; k < gp.output_size(); ++k) {
      const int v = ctx_.lookup(gp.output(k).name(), "graph output");
      if (g_.values[v].is_constant)
        throw Error(ErrorKind::InvalidModel, "graph output '" + gp.output(k).name() +
                                                 "' is a constant, not computed from the input");
      if (k == 0)
        g_.output = v;
      else if (v != g_.output && !is_graph_output(g_, v))
        g_.extra_outputs.push_back(v);
    }
    validate(g_);
    return std::move(g_);
  }

 private:
  void read_opset() {
    for (const auto& op : model_.opset_import())
      if (op.domain().empty() || op.domain() == "ai.onnx") g_.opset = op.version();
    if (g_.opset == 0) throw Error(ErrorKind::InvalidModel, "no default-domain opset_import");
    if (g_.opset < kMinOpset || g_.opset > kMaxOpset)
      throw Error(ErrorKind::UnsupportedOp,
                  str_cat("opset ", g_.opset, " is not supported (gammaq reads opsets ", kMinOpset,
                          "-", kMaxOpset,
                          "); convert the model with onnx's "
                          "version_converter"));
  }

  // --outputs: the named tensors become the graph outputs; nodes none of them needs are
  // dropped (with the initializers only they read), before any node is checked.
  void cut_outputs() {
    if (options_.outputs.empty()) return;
    auto* gp = model_.mutable_graph();
    std::unordered_map<std::string, int> producer;
    for (int i = 0; i < gp->node_size(); ++i)
      for (const auto& o : gp->node(i).output())
        if (!o.empty()) producer[o] = i;
    std::unordered_map<std::string, onnx::ValueInfoProto> known;
    for (const auto& vi : gp->value_info()) known[vi.name()] = vi;
    for (const auto& vi : gp->output()) known[vi.name()] = vi;
    std::vector<bool> keep(static_cast<size_t>(gp->node_size()), false);
    std::vector<std::string> todo;
    std::unordered_set<std::string> seen;
    for (const std::string& name : options_.outputs) {
      if (!producer.count(name))
        throw Error(ErrorKind::InvalidOption,
                    str_cat("--outputs: no node of the model computes a tensor named '", name,
                            "' (see the names in 'gammaq inspect')"));
      if (!seen.insert(name).second)
        throw Error(ErrorKind::InvalidOption, str_cat("--outputs: '", name, "' is named twice"));
      todo.push_back(name);
    }
    std::unordered_set<std::string> needed;
    while (!todo.empty()) {
      const std::string t = todo.back();
      todo.pop_back();
      if (!needed.insert(t).second) continue;
      auto it = producer.find(t);
      if (it == producer.end()) continue;  // an input or initializer
      keep[static_cast<size_t>(it->second)] = true;
      for (const auto& in : gp->node(it->second).input())
        if (!in.empty()) todo.push_back(in);
    }
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    std::vector<int> origin;
    for (int i = 0; i < gp->node_size(); ++i) {
      if (!keep[static_cast<size_t>(i)]) continue;
      *nodes.Add() = gp->node(i);
      origin.push_back(origin_[static_cast<size_t>(i)]);
    }
    gp->mutable_node()->Swap(&nodes);
    origin_ = std::move(origin);
    google::protobuf::RepeatedPtrField<onnx::TensorProto> inits;
    for (auto& init : *gp->mutable_initializer())
      if (needed.count(init.name())) *inits.Add() = std::move(init);
    gp->mutable_initializer()->Swap(&inits);
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
    for (auto& in : *gp->mutable_input())
      if (needed.count(in.name())) *inputs.Add() = std::move(in);
    gp->mutable_input()->Swap(&inputs);
    gp->clear_output();
    for (const std::string& name : options_.outputs) {
      auto* vi = gp->add_output();
      auto it = known.find(name);
      if (it != known.end() && it->second.type().has_tensor_type()) {
        *vi = it->second;
      } else {
        vi->set_name(name);
        auto* tt = vi->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(onnx::TensorProto::FLOAT);
        tt->mutable_shape();  // unknown: shape inference gives it
      }
    }
  }

  // tf2onnx: an N x H x W x C input whose every reader is Transpose(perm 0,3,1,2). gammaq's
  // input becomes that NCHW tensor (the Transposes turn into Identity); Graph::nhwc_input
  // records it so that exports keep the file's interface.
  void absorb_nhwc_input() {
    auto* gp = model_.mutable_graph();
    const std::string name = image_input_name();
    std::vector<onnx::NodeProto*> readers;
    for (auto& n : *gp->mutable_node())
      for (const auto& in : n.input())
        if (in == name) readers.push_back(&n);
    if (readers.empty()) return;
    for (onnx::NodeProto* n : readers) {
      if (n->op_type() != "Transpose" || n->input_size() != 1) return;
      std::vector<int64_t> perm;
      for (const auto& a : n->attribute())
        if (a.name() == "perm") perm.assign(a.ints().begin(), a.ints().end());
      if (perm != std::vector<int64_t>{0, 3, 1, 2}) return;
    }
    for (auto& in : *gp->mutable_input()) {
      if (in.name() != name) continue;
      auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
      if (shape->dim_size() != 4) return;
      const onnx::TensorShapeProto_Dimension c = shape->dim(3);
      *shape->mutable_dim(3) = shape->dim(2);
      *shape->mutable_dim(2) = shape->dim(1);
      *shape->mutable_dim(1) = c;
    }
    for (onnx::NodeProto* n : readers) {
      n->set_op_type("Identity");
      n->clear_attribute();
    }
    g_.nhwc_input = true;
  }

  // --input-shape N,C,H,W: fills the image input's symbolic C, H, W; contradicting a fixed one
  // is an error.
  void apply_input_shape() {
    const std::vector<int64_t>& want = options_.input_shape;
    if (want.empty()) return;
    const std::string shown =
        str_cat(want[0], ",", want.size() > 1 ? want[1] : 0, ",", want.size() > 2 ? want[2] : 0,
                ",", want.size() > 3 ? want[3] : 0);
    if (want.size() != 4)
      throw Error(ErrorKind::InvalidOption,
                  str_cat("--input-shape: expected N,C,H,W (4 values), got ", want.size()));
    for (int64_t d : want)
      if (d < 1 || d > kMaxImageSide)
        throw Error(
            ErrorKind::InvalidOption,
            str_cat("--input-shape ", shown, ": every size must be in [1, ", kMaxImageSide, "]"));
    const std::string name = image_input_name();
    for (auto& in : *model_.mutable_graph()->mutable_input()) {
      if (in.name() != name) continue;
      auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
      if (shape->dim_size() != 4)
        throw Error(ErrorKind::InvalidOption,
                    str_cat("--input-shape ", shown, ": input '", name, "' has rank ",
                            shape->dim_size(), ", not N x C x H x W"));
      for (int d = 1; d < 4; ++d) {
        auto* dim = shape->mutable_dim(d);
        if (dim->has_dim_value() && dim->dim_value() > 0 &&
            dim->dim_value() != want[static_cast<size_t>(d)])
          throw Error(ErrorKind::InvalidOption,
                      str_cat("--input-shape ", shown, " contradicts input '", name,
                              "': its dimension ", d, " is ", dim->dim_value(),
                              g_.nhwc_input ? " (in NCHW order; the file's input is NHWC)" : ""));
        dim->set_dim_value(want[static_cast<size_t>(d)]);
      }
    }
  }

  void check_supported_ops() const {
    const auto& gp = model_.graph();
    for (int i = 0; i < gp.node_size(); ++i) {
      const auto& n = gp.node(i);
      const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
      if (!default_domain || (!op_from_onnx(n.op_type()) && !onnx_import::is_foldable(n.op_type())))
        throw Error(ErrorKind::UnsupportedOp,
                    str_cat(onnx_import::node_label(n, origin_[static_cast<size_t>(i)]),
                            ": unsupported operator '", n.domain().empty() ? "" : n.domain() + ".",
                            n.op_type(), "' (opset ", g_.opset,
                            "); see 'gammaq inspect --ops', or cut the model before it with "
                            "--outputs"));
    }
  }

  // Opsets 18-21 as 17 for libonnx: Reduce* axes from an input back to the attribute, Split's
  // num_outputs dropped (17 splits equally by the number of outputs), Resize's new attributes
  // at their defaults dropped; anything else new in 18-21 (Pad's axes, Resize's antialias) is
  // refused naming the node. Every other operator gammaq reads kept its semantics.
  void canonicalize_new_opset() {
    if (g_.opset <= kLibOnnxOpset) return;
    for (auto& op : *model_.mutable_opset_import())
      if (op.domain().empty() || op.domain() == "ai.onnx") op.set_version(kLibOnnxOpset);
    if (model_.ir_version() > kLibOnnxIr) model_.set_ir_version(kLibOnnxIr);
    auto* gp = model_.mutable_graph();
    std::unordered_map<std::string, const onnx::TensorProto*> constants;
    for (const auto& init : gp->initializer()) constants[init.name()] = &init;
    for (int i = 0; i < gp->node_size(); ++i) {
      onnx::NodeProto& n = *gp->mutable_node(i);
      const std::string label = onnx_import::node_label(n, origin_[static_cast<size_t>(i)]);
      if (n.op_type() == "Constant" && n.output_size() == 1)
        for (const auto& a : n.attribute())
          if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR)
            constants[n.output(0)] = &a.t();
      auto refuse = [&](std::string_view what) {
        throw Error(ErrorKind::UnsupportedOp,
                    str_cat(label, ": ", what, " (opset ", g_.opset, ")"));
      };
      auto drop_attr = [&](std::string_view name, auto is_default) {
        auto* attrs = n.mutable_attribute();
        for (int k = attrs->size() - 1; k >= 0; --k) {
          if (attrs->Get(k).name() != name) continue;
          if (!is_default(attrs->Get(k)))
            refuse(str_cat("attribute '", name, "' is not supported"));
          attrs->DeleteSubrange(k, 1);
        }
      };
      const std::string& op = n.op_type();
      if (op.rfind("Reduce", 0) == 0 && op != "ReduceSum") {
        drop_attr("noop_with_empty_axes", [](const auto& a) { return a.i() == 0; });
        if (n.input_size() > 1 && !n.input(1).empty()) {
          auto it = constants.find(n.input(1));
          if (it == constants.end()) refuse("axes must be a constant");
          const Tensor axes = onnx_import::tensor_from_proto(*it->second);
          auto* a = n.add_attribute();
          a->set_name("axes");
          a->set_type(onnx::AttributeProto::INTS);
          for (float v : axes.data) a->add_ints(static_cast<int64_t>(v));
        }
        while (n.input_size() > 1) n.mutable_input()->RemoveLast();
      } else if (op == "Split") {
        drop_attr("num_outputs", [&](const auto& a) { return a.i() == n.output_size(); });
      } else if (op == "Resize") {
        drop_attr("antialias", [](const auto& a) { return a.i() == 0; });
        drop_attr("keep_aspect_ratio_policy", [](const auto& a) { return a.s() == "stretch"; });
        drop_attr("axes", [](const auto&) { return false; });
        for (const auto& a : n.attribute())
          if (a.name() == "coordinate_transformation_mode" && a.s() == "half_pixel_symmetric")
            refuse("coordinate_transformation_mode 'half_pixel_symmetric' is not supported");
      } else if (op == "Pad") {
        if (n.input_size() > 3 && !n.input(3).empty()) refuse("Pad with 'axes' is not supported");
        for (const auto& a : n.attribute())
          if (a.name() == "mode" && a.s() == "wrap") refuse("Pad mode 'wrap' is not supported");
      }
    }
  }

  // Ranks of every tensor, propagated by the rules of the supported operators, checked before
  // ONNX shape inference runs: libonnx 1.12's Conv/pool inference dereferences null on inputs
  // of rank < 3 (found by tests/fuzz/onnx_fuzz.cc), so such graphs must not reach it.
  void check_ranks() const {
    const auto& gp = model_.graph();
    std::unordered_map<std::string, int> rank;
    std::unordered_map<std::string, int64_t> length;               // element count of 1-D constants
    std::unordered_map<std::string, std::vector<int64_t>> values;  // small integer constants
    // Tensors computed from constants and shapes only: a foldable node reading only these folds,
    // so its rank is the folder's rule, not the activation operator's.
    std::unordered_set<std::string> shape_only;
    for (const auto& init : gp.initializer()) {
      rank[init.name()] = init.dims_size();
      shape_only.insert(init.name());
      if (init.dims_size() == 1) length[init.name()] = init.dims(0);
      const bool integer = init.data_type() == onnx::TensorProto::INT64 ||
                           init.data_type() == onnx::TensorProto::INT32;
      if (integer && init.dims_size() <= 1 && (init.dims_size() == 0 || init.dims(0) <= 64)) {
        try {
          std::vector<int64_t> v;
          for (float x : onnx_import::tensor_from_proto(init).data)
            v.push_back(static_cast<int64_t>(x));
          values[init.name()] = std::move(v);
        } catch (const Error&) {
          // malformed: named where it is used
        }
      }
    }
    for (const auto& in : gp.input())
      if (!rank.count(in.name())) rank[in.name()] = in.type().tensor_type().shape().dim_size();
    const std::string image = image_input_name();
    if (rank[image] != 4)
      throw Error(ErrorKind::UnsupportedOp, str_cat("input '", image, "' has rank ", rank[image],
                                                    "; expected N x C x H x W"));
    for (const auto& in : gp.input()) {
      if (in.name() != image) continue;
      int64_t numel = 1;
      const auto& shape = in.type().tensor_type().shape();
      for (int d = 1; d < shape.dim_size(); ++d) {
        const int64_t v = shape.dim(d).dim_value();
        if (v > kMaxImageSide)
          throw Error(ErrorKind::UnsupportedOp,
                      str_cat("input '", image, "' dimension ", d, " is ", v, "; at most ",
                              kMaxImageSide, " is supported"));
        numel *= std::max<int64_t>(v, 1);
      }
      if (numel > kMaxImageElements)
        throw Error(ErrorKind::UnsupportedOp,
                    str_cat("input '", image, "' has ", numel, " values per image; at most ",
                            kMaxImageElements, " are supported"));
    }
    for (int i = 0; i < gp.node_size(); ++i) {
      const auto& n = gp.node(i);
      auto in_rank = [&](int k) -> int {
        if (k >= n.input_size() || n.input(k).empty()) return -1;
        auto it = rank.find(n.input(k));
        if (it == rank.end())
          throw Error(ErrorKind::InvalidModel,
                      str_cat(onnx_import::node_label(n, origin_[static_cast<size_t>(i)]),
                              ": input '", n.input(k), "' is undefined"));
        return it->second;
      };
      const onnx_import::RankIo r{n, onnx_import::node_label(n, origin_[static_cast<size_t>(i)]),
                                  in_rank, length, values};
      const std::optional<OpType> op = op_from_onnx(n.op_type());
      bool folds = onnx_import::is_foldable(n.op_type());
      for (const auto& in : n.input()) folds &= in.empty() || shape_only.count(in) > 0;
      folds |= n.op_type() == "Shape" || n.op_type() == "Size";
      int out = -1;
      if (!op || (folds && *op != OpType::Constant)) {
        out = onnx_import::fold_rank(r);
      } else {
        const ops::OpDef& def = ops::def(*op);
        out = def.rank ? def.rank(r) : in_rank(0);
      }
      for (const auto& o : n.output()) {
        rank[o] = out;
        if (folds) shape_only.insert(o);
      }
    }
  }

  void run_checker() {
    try {
      onnx::checker::check_model(model_);
    } catch (const std::exception& e) {
      throw Error(ErrorKind::InvalidModel, "ONNX checker: " + first_line(e.what()));
    }
  }

  // Shape inference with the batch dimension fixed to 1: every activation gets a concrete
  // batch-1 shape, which the executor scales to its batch.
  void run_inference() {
    onnx::ModelProto copy = model_;
    auto* gp = copy.mutable_graph();
    const std::string image = image_input_name();
    for (auto& in : *gp->mutable_input()) {
      if (in.name() != image) continue;
      auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
      if (shape->dim_size() > 0) shape->mutable_dim(0)->set_dim_value(1);
    }
    gp->clear_value_info();
    for (auto& out : *gp->mutable_output()) {
      auto* tt = out.mutable_type()->mutable_tensor_type();
      tt->clear_shape();
    }
    try {
      onnx::ShapeInferenceOptions opts(/*check_type=*/true, /*error_mode=*/1,
                                       /*data_prop=*/true);
      onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const std::exception& e) {
      throw Error(ErrorKind::InvalidModel, "ONNX shape inference: " + first_line(e.what()));
    }
    inferred_ = copy.graph();
  }

  // Every fully static shape shape inference gave (the image input's batch fixed to 1).
  onnx_import::StaticShapes static_shapes() const {
    onnx_import::StaticShapes out;
    auto take = [&](const onnx::ValueInfoProto& vi) {
      if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return;
      std::vector<int64_t> s;
      for (const auto& dim : vi.type().tensor_type().shape().dim()) {
        if (!dim.has_dim_value() || dim.dim_value() < 0) return;
        s.push_back(dim.dim_value());
      }
      out[vi.name()] = std::move(s);
    };
    for (const auto& vi : inferred_.input()) take(vi);
    for (const auto& vi : inferred_.value_info()) take(vi);
    for (const auto& vi : inferred_.output()) take(vi);
    if (auto it = out.find(image_input_name()); it != out.end() && !it->second.empty())
      it->second[0] = 1;
    return out;
  }

  std::string image_input_name() const {
    const auto& gp = model_.graph();
    std::vector<std::string> names;
    for (const auto& in : gp.input()) {
      bool is_init = false;
      for (const auto& init : gp.initializer()) is_init |= init.name() == in.name();
      if (!is_init) names.push_back(in.name());
    }
    if (names.size() != 1)
      throw Error(ErrorKind::UnsupportedOp,
                  str_cat("model has ", names.size(),
                          " non-constant inputs; gammaq supports exactly one image input"));
    return names[0];
  }

  void add_graph_input() {
    const auto& gp = model_.graph();
    const std::string name = image_input_name();
    for (const auto& in : gp.input()) {
      if (in.name() != name) continue;
      const auto& tt = in.type().tensor_type();
      if (tt.elem_type() != onnx::TensorProto::FLOAT)
        throw Error(ErrorKind::UnsupportedOp, "input '" + name + "' must be float32");
      Shape s;
      for (int d = 0; d < tt.shape().dim_size(); ++d) {
        const auto& dim = tt.shape().dim(d);
        if (d == 0) {
          s.push_back(1);
        } else if (dim.has_dim_value() && dim.dim_value() > 0) {
          s.push_back(dim.dim_value());
        } else {
          throw Error(ErrorKind::UnsupportedOp,
                      str_cat("input '", name, "' dimension ", d,
                              " is not a fixed positive size; only the batch dimension may vary"));
        }
      }
      if (s.size() != 4)
        throw Error(ErrorKind::UnsupportedOp,
                    str_cat("input '", name, "' has rank ", s.size(), "; expected N x C x H x W"));
      g_.input = ctx_.add_activation(name, s, -1);
      return;
    }
  }

  void collect_shapes() {
    auto take = [&](const onnx::ValueInfoProto& vi) {
      if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return;
      Shape s;
      for (const auto& dim : vi.type().tensor_type().shape().dim()) {
        if (!dim.has_dim_value()) return;  // unknown: leave it to the op's own inference
        s.push_back(dim.dim_value());
      }
      ctx_.shapes[vi.name()] = s;
    };
    for (const auto& vi : inferred_.value_info()) take(vi);
    for (const auto& vi : inferred_.output()) take(vi);
  }

  onnx::ModelProto& model_;
  const ImportOptions& options_;
  onnx::GraphProto inferred_;
  std::vector<int> origin_;  // per node of model_'s graph: its index in the file
  Context ctx_;
  Graph& g_ = ctx_.g;
};

}  // namespace

Graph import_onnx_bytes(const std::string& bytes, const std::string& name,
                        const ImportOptions& options) {
  onnx::ModelProto model;
  if (bytes.empty()) throw Error(ErrorKind::InvalidModel, "file is empty");
  if (bytes.size() >= kMaxModelBytes)
    throw Error(ErrorKind::InvalidModel, "file is larger than protobuf's 2 GiB limit");
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw Error(ErrorKind::InvalidModel,
                "cannot parse ONNX protobuf (truncated or not an ONNX file)");
  return Importer(model, name, options).run();
}

Graph import_onnx_file(const std::string& path, const ImportOptions& options) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorKind::Io, str_cat("cannot open: ", std::strerror(errno)));
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string name = path;
  if (auto slash = name.find_last_of('/'); slash != std::string::npos)
    name = name.substr(slash + 1);
  if (auto dot = name.rfind(".onnx"); dot != std::string::npos && dot > 0) name.resize(dot);
  return import_onnx_bytes(ss.str(), name, options);
}

}  // namespace gammaq
