// Internal to the fast path and the operators' fast hooks (src/ops/op.h OpDef::fast): the
// state of a FastGraph while it is built and run -- per value its layout and oneDNN memory, the
// steps (primitives and plain-tensor functions) in graph order -- and the helpers a lowering
// uses to add a step.
#pragma once

#include <functional>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "gammaq/error.h"
#include "gammaq/graph.h"
#include "kernels/kernels.h"
#include "quant/simulation.h"

namespace gammaq::kernels {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
using Args = std::unordered_map<int, memory>;

inline dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

inline memory::dims dims_of(const Shape& s) { return memory::dims(s.begin(), s.end()); }

inline memory::desc plain_md(const Shape& s) {
  static const tag kTags[] = {tag::a, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde};
  GAMMAQ_CHECK(!s.empty() && s.size() <= 5, "rank ", s.size());
  return memory::desc(dims_of(s), dt::f32, kTags[s.size()]);
}

inline dnnl::post_ops activation_post_ops(const Attributes& a) {
  dnnl::post_ops ops;
  switch (a.activation) {
    case Activation::None: break;
    case Activation::Relu:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      break;
    case Activation::LeakyRelu:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, a.act_alpha, 0.0f);
      break;
    case Activation::Clip:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, a.act_min, a.act_max);
      break;
    case Activation::Sigmoid:
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f);
      break;
  }
  return ops;
}

// Every primitive gets a user-managed scratchpad: one buffer, allocated once per FastGraph and
// shared by all primitives (they run one after another). With oneDNN's default per-call
// scratchpad, large scratch buffers were mapped and zero-filled on every run.
inline dnnl::primitive_attr base_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

inline dnnl::primitive_attr activation_attr(const Attributes& a) {
  dnnl::primitive_attr attr = base_attr();
  attr.set_post_ops(activation_post_ops(a));
  return attr;
}

inline std::string impl_of(const dnnl::primitive_desc_base& pd) { return pd.impl_info_str(); }

struct FastGraphImpl {
  const Graph& g;
  const FakeQuant* fq;
  int64_t batch;
  dnnl::stream stream{cpu_engine()};
  std::vector<Tensor> plain;      // per value: plain storage (activations)
  std::vector<memory::desc> md;   // per value: layout chosen by its producer
  std::vector<memory> mem;        // per value: memory in that layout
  std::vector<bool> plain_fresh;  // plain[] holds the last run's values
  struct Step {
    dnnl::primitive prim;  // empty when fn is set
    Args args;
    std::function<void()> fn;
    memory::desc scratch;
    int node = kAlways;    // the node whose computation this step belongs to
    int quant_value = -1;  // >= 0: the step rounds this value to its format
  };
  static constexpr int kInput = -1, kAlways = -2;
  std::vector<Step> steps;
  int building = kInput;  // node being built: tags the steps added meanwhile
  // Per node: re-reads its (quantized) weights and bias into the primitive's memory.
  std::vector<std::function<void()>> reload;
  std::vector<std::unique_ptr<dnnl::reorder>> plain_reorder;  // per value, built on demand
  memory scratchpad;
  std::vector<std::string> impl;  // per node
  std::vector<memory> keep;       // weights, biases, scratch buffers
  // With keep_raw: per quantized value, its last value before rounding (in its layout).
  bool keep_raw = false;
  std::vector<std::vector<float>> raw;
  // Per value: its producer rounds inside its kernel (run_node_rounded), so the kept value is
  // already rounded and re-rounding it to another format means re-running the producer.
  std::vector<bool> rounded_in_kernel;

  FastGraphImpl(const Graph& graph, int64_t b, const FakeQuant* fake_quant, bool keep_unquantized)
      : g(graph), fq(fake_quant), batch(b), keep_raw(keep_unquantized && fake_quant != nullptr) {
    const size_t nv = g.values.size();
    plain.resize(nv);
    md.resize(nv);
    mem.resize(nv);
    plain_fresh.assign(nv, false);
    plain_reorder.resize(nv);
    raw.resize(nv);
    rounded_in_kernel.assign(nv, false);
    for (size_t v = 0; v < nv; ++v) {
      if (g.values[v].is_constant) continue;
      plain[v] = Tensor(batch_shape(static_cast<int>(v)));
    }
    const int in = g.input;
    set_plain_layout(in);
    reload.resize(g.nodes.size());
    building = kInput;
    add_quantize(in);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      building = static_cast<int>(i);
      build(g.nodes[i]);
      add_quantize(g.nodes[i].outputs[0]);
    }
    building = kAlways;
    for (int out : graph_outputs(g))
      if (!is_plain(out)) add_fn([this, out] { to_plain(out); });
    size_t bytes = 0;
    for (const Step& st : steps) bytes = std::max(bytes, st.scratch.get_size());
    if (bytes == 0) return;
    scratchpad =
        memory(memory::desc({static_cast<memory::dim>(bytes)}, dt::u8, tag::x), cpu_engine());
    for (Step& st : steps)
      if (st.scratch.get_size() != 0)
        st.args.insert(
            {DNNL_ARG_SCRATCHPAD, memory(st.scratch, cpu_engine(), scratchpad.get_data_handle())});
  }

  Shape batch_shape(int v) const {
    Shape s = g.values[v].shape;
    s[0] = batch;
    return s;
  }
  bool is_plain(int v) const { return md[v] == plain_md(batch_shape(v)); }
  void set_plain_layout(int v) {
    md[v] = plain_md(batch_shape(v));
    mem[v] = memory(md[v], cpu_engine(), plain[v].data.data());
  }
  void set_layout(int v, const memory::desc& d) {
    if (d == plain_md(batch_shape(v))) {
      set_plain_layout(v);
    } else {
      md[v] = d;
      mem[v] = memory(d, cpu_engine());
    }
  }
  // Reorders value v into its plain tensor (a no-op for plain layouts).
  void to_plain(int v) {
    if (is_plain(v)) return;
    memory dst(plain_md(batch_shape(v)), cpu_engine(), plain[v].data.data());
    if (!plain_reorder[v]) plain_reorder[v] = std::make_unique<dnnl::reorder>(mem[v], dst);
    plain_reorder[v]->execute(stream, mem[v], dst);
  }
  // A memory holding value v in layout `want`: v's own memory, or a scratch buffer filled by a
  // reorder step added now.
  memory as_layout(int v, const memory::desc& want) {
    if (want == md[v]) return mem[v];
    memory converted(want, cpu_engine());
    keep.push_back(converted);
    dnnl::reorder::primitive_desc pd(mem[v], converted, base_attr());
    add_step(dnnl::reorder(pd), {{DNNL_ARG_FROM, mem[v]}, {DNNL_ARG_TO, converted}},
             pd.scratchpad_desc());
    return converted;
  }
  memory constant_memory(const memory::desc& want, const memory::desc& have, const float* data) {
    memory src(have, cpu_engine(), const_cast<float*>(data));
    memory dst(want, cpu_engine());
    dnnl::reorder(src, dst).execute(stream, src, dst);
    stream.wait();
    keep.push_back(dst);
    return dst;
  }
  void add_step(dnnl::primitive p, Args args, const memory::desc& scratch) {
    steps.push_back(Step{std::move(p), std::move(args), nullptr, scratch, building});
  }
  // A convolution or inner product of node n: its (possibly quantized) weights reordered
  // once into the primitive's layout, a bias of `channels` values (zeros when absent), reading
  // `src` and writing value y, whose layout the caller has set.
  template <typename Prim>
  void add_weighted_step(const typename Prim::primitive_desc& pd, const Node& n, const memory& src,
                         int y, const memory::desc& w_user, int64_t channels) {
    std::vector<float> bias(static_cast<size_t>(channels), 0.0f);
    if (n.inputs.size() > 2) std::copy_n(constant_data(n.inputs[2]), channels, bias.begin());
    const memory::desc b_md({channels}, dt::f32, tag::x);
    const memory wm = constant_memory(pd.weights_desc(), w_user, constant_data(n.inputs[1]));
    const memory bm = constant_memory(b_md, b_md, bias.data());
    reload[static_cast<size_t>(building)] = [this, &n, wm, bm, w_user, channels] {
      memory w_src(w_user, cpu_engine(), const_cast<float*>(constant_data(n.inputs[1])));
      memory w_dst = wm;
      dnnl::reorder(w_src, w_dst).execute(stream, w_src, w_dst);
      float* b = static_cast<float*>(bm.get_data_handle());
      if (n.inputs.size() > 2)
        std::copy_n(constant_data(n.inputs[2]), channels, b);
      else
        std::fill_n(b, channels, 0.0f);
      stream.wait();
    };
    add_step(
        Prim(pd),
        {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, mem[y]}},
        pd.scratchpad_desc());
    impl.push_back(impl_of(pd));
  }

  // A primitive reading value x and writing value y (pooling, LRN, eltwise); y takes the
  // layout the primitive chose.
  template <typename Prim>
  void add_src_dst_step(int x, int y, const typename Prim::primitive_desc& pd) {
    set_layout(y, pd.dst_desc());
    Args args{{DNNL_ARG_SRC, mem[x]}, {DNNL_ARG_DST, mem[y]}};
    if (pd.workspace_desc().get_size() != 0) {
      memory ws(pd.workspace_desc(), cpu_engine());
      keep.push_back(ws);
      args.insert({DNNL_ARG_WORKSPACE, ws});
    }
    add_step(Prim(pd), args, pd.scratchpad_desc());
    impl.push_back(impl_of(pd));
  }
  // Copies a view of value x's plain buffer (`view`: strides or an offset into it, as Transpose
  // and Slice read it) into value y's plain layout, by one oneDNN reorder.
  void add_view_copy(int x, const memory::desc& view, int y) {
    const memory src = as_layout(x, plain_md(batch_shape(x)));
    set_plain_layout(y);
    dnnl::reorder::primitive_desc pd(cpu_engine(), view, cpu_engine(), md[y], base_attr());
    // The view aliases the source's buffer, which is fixed once the graph is built.
    memory alias(view, cpu_engine(), src.get_data_handle());
    keep.push_back(alias);
    add_step(dnnl::reorder(pd), {{DNNL_ARG_FROM, alias}, {DNNL_ARG_TO, mem[y]}},
             pd.scratchpad_desc());
    impl.push_back(impl_of(pd));
  }
  void add_fn(std::function<void()> fn) {
    steps.push_back(Step{{}, {}, std::move(fn), {}, building});
  }

  // Lowers node n: its operator's fast hook (src/ops/), or its reference kernel.
  void build(const Node& n);

  const float* constant_data(int v) const {
    if (fq && !fq->constant[v].data.empty()) return fq->constant[v].data.data();
    return g.values[v].data.data.data();
  }

  // With a simulation: a step that rounds value v to its format, in whatever layout it is
  // (elementwise; the zero padding of blocked layouts stays zero). The format is read when the
  // step runs, so a caller may change fq's formats between runs.
  void add_quantize(int v) {
    if (!fq) return;
    steps.push_back(Step{{}, {}, nullptr, {}, building, v});
  }
  // Rounds value v in place (when it has a format); with keep_raw, first keeps its unrounded value,
  // or (from_raw) rounds that kept value again instead of the producer's new one.
  void quantize_value(int v, bool from_raw) {
    if (!fq->value_format[v]) return;
    stream.wait();
    float* p = static_cast<float*>(mem[v].get_data_handle());
    const size_t n = md[v].get_size() / sizeof(float);
    if (keep_raw) {
      std::vector<float>& r = raw[static_cast<size_t>(v)];
      if (from_raw) {
        GAMMAQ_CHECK(r.size() == n, "requantize before the value was computed");
        std::copy(r.begin(), r.end(), p);
      } else {
        r.assign(p, p + n);
      }
    }
    quant::fake_quant(std::span<float>(p, n), *fq->value_format[v], fq->rounding);
  }

  // Adds a step that brings activation v into its plain tensor before the next step.
  void ensure_plain_input(int v) {
    if (is_plain(v)) return;
    add_fn([this, v] { to_plain(v); });
  }

  void build_reference(const Node& n) {
    std::vector<const Tensor*> ins;
    for (int id : n.inputs) {
      if (g.values[id].is_constant) {
        ins.push_back(fq && !fq->constant[id].data.empty() ? &fq->constant[id]
                                                           : &g.values[id].data);
      } else {
        ensure_plain_input(id);
        ins.push_back(&plain[id]);
      }
    }
    const int y = n.outputs[0];
    set_plain_layout(y);
    // With a simulation: the exact rounding where every activation has a format (the
    // quantize step after it is then a no-op).
    if (fq && rounds_in_kernel(n.op)) rounded_in_kernel[static_cast<size_t>(y)] = true;
    add_fn([this, &n, ins, y] {
      stream.wait();
      if (fq)
        if (const auto q = output_quant(g, *fq, n)) return run_node_rounded(n, ins, plain[y], *q);
      run_node_reference(n, ins, plain[y]);
    });
    impl.push_back("ref");
  }

  // Runs every step, or (with `dirty`) only the steps of dirty nodes, of the input when
  // input_dirty, the rounding again of the values flagged in `requant` (kept raw values; the
  // producer re-runs where its kernel rounds), and the final output conversion.
  void run(const Tensor* input, const std::vector<bool>* dirty, const std::vector<bool>* requant) {
    std::vector<bool> redo;
    if (dirty && requant) {
      redo = *dirty;
      for (size_t v = 0; v < requant->size(); ++v)
        if ((*requant)[v] && rounded_in_kernel[v])
          redo[static_cast<size_t>(g.values[v].producer)] = true;
      dirty = &redo;
    }
    std::fill(plain_fresh.begin(), plain_fresh.end(), false);
    if (input) std::copy(input->data.begin(), input->data.end(), plain[g.input].data.begin());
    for (Step& st : steps) {
      const bool computed =
          !dirty || st.node == kAlways ||
          (st.node == kInput ? input != nullptr : (*dirty)[static_cast<size_t>(st.node)]);
      if (st.quant_value >= 0) {
        if (computed)
          quantize_value(st.quant_value, false);
        else if (requant && (*requant)[static_cast<size_t>(st.quant_value)])
          quantize_value(st.quant_value, true);
        continue;
      }
      if (!computed) continue;
      if (st.fn)
        st.fn();
      else
        st.prim.execute(stream, st.args);
    }
    stream.wait();
    for (int out : graph_outputs(g)) plain_fresh[static_cast<size_t>(out)] = true;
  }
};

}  // namespace gammaq::kernels
