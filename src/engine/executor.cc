#include "gammaq/executor.h"

#include <cstdlib>
#include <optional>
#include <string_view>

#include "engine/fake_quant.h"
#include "engine/integer.h"
#include "gammaq/error.h"
#include "kernels/fast/fast.h"
#include "kernels/kernels.h"

namespace gammaq {

KernelImpl kernel_impl_from_env(KernelImpl fallback) {
  const char* env = std::getenv("GAMMAQ_KERNELS");
  if (env == nullptr || *env == '\0') return fallback;
  const std::string_view v(env);
  if (v == "reference") return KernelImpl::Reference;
  if (v == "fast") return KernelImpl::Fast;
  throw Error(ErrorKind::InvalidOption,
              str_cat("GAMMAQ_KERNELS='", v, "': expected 'reference' or 'fast'"));
}

struct Executor::FastState {
  std::unique_ptr<kernels::FastGraph> graph;
};

Executor::Executor(const Graph& graph, ExecutorOptions options)
    : g_(graph), options_(options), acts_(graph.values.size()) {
  if (options_.threads > 0) kernels::set_kernel_threads(options_.threads);
}

Executor::~Executor() = default;

void Executor::prepare(int64_t batch) {
  if (batch == batch_) return;
  batch_ = batch;
  fast_.reset();
  if (options_.impl == KernelImpl::Fast) {
    fast_ = std::make_unique<FastState>();
    fast_->graph = std::make_unique<kernels::FastGraph>(g_, batch, options_.fake_quant,
                                                        options_.keep_unquantized);
    return;
  }
  for (size_t i = 0; i < g_.values.size(); ++i) {
    const Value& v = g_.values[i];
    if (v.is_constant) continue;
    Shape s = v.shape;
    s[0] = batch;
    acts_[i] = Tensor(std::move(s));
  }
}

const std::vector<int32_t>& Executor::codes(int id) const {
  GAMMAQ_CHECK(options_.integer && id >= 0 && static_cast<size_t>(id) < codes_.size(),
               "codes: integer numerics only, value ", id);
  return codes_[static_cast<size_t>(id)];
}

const std::vector<float>& Executor::unquantized(int id) const {
  static const std::vector<float> none;
  const auto i = static_cast<size_t>(id);
  return i < raw_.size() ? raw_[i] : none;
}

const Tensor& Executor::value(int id) {
  if (options_.integer) {  // dequantized on demand
    Shape s = g_.values[static_cast<size_t>(id)].shape;
    s[0] = batch_;
    Tensor& t = acts_[static_cast<size_t>(id)];
    t = Tensor(std::move(s));
    const quant::Format& f = options_.integer->format(id);
    const std::vector<int32_t>& c = codes(id);
    for (size_t i = 0; i < c.size(); ++i)
      t.data[i] = static_cast<float>(quant::dequantize(c[i], f));
    return t;
  }
  return fast_ ? fast_->graph->plain(id) : acts_[id];
}

const Tensor& Executor::run(const Tensor& images) {
  const Shape& want = g_.values[g_.input].shape;
  if (images.rank() != 4 || images.shape[0] < 1 ||
      !std::equal(want.begin() + 1, want.end(), images.shape.begin() + 1))
    throw Error(
        ErrorKind::InvalidData,
        str_cat("images of shape ", shape_str(Shape(images.shape.begin() + 1, images.shape.end())),
                " do not match model input '", g_.values[g_.input].name, "' of shape ",
                shape_str(Shape(want.begin() + 1, want.end()))));
  constexpr int64_t kMaxBatchElements = int64_t{1} << 31;
  for (const Value& v : g_.values)
    if (!v.is_constant && shape_numel(v.shape) > kMaxBatchElements / images.shape[0])
      throw Error(ErrorKind::InvalidOption,
                  str_cat("batch of ", images.shape[0], " images: tensor '", v.name,
                          "' would exceed 2^31 values; use a smaller batch"));
  if (options_.integer) {
    batch_ = images.shape[0];
    if (options_.impl == KernelImpl::Fast && !int_kernels_)
      int_kernels_ = std::make_unique<IntegerKernels>();
    run_integer(*options_.integer, images, codes_, int_kernels_.get());
    return value(g_.output);
  }
  prepare(images.shape[0]);
  if (fast_) {
    const Tensor& out = fast_->graph->run(images);
    if (tap_) {
      tap_(g_.input, fast_->graph->plain(g_.input));
      for (const Node& n : g_.nodes) tap_(n.outputs[0], fast_->graph->plain(n.outputs[0]));
    }
    return out;
  }
  return run_reference(&images, std::vector<bool>(g_.nodes.size(), true), {}, tap_ != nullptr);
}

const Tensor& Executor::rerun(const Tensor* images, const std::vector<bool>& dirty_nodes,
                              const std::vector<bool>& requantize) {
  GAMMAQ_CHECK(batch_ >= 1, "rerun before run");
  GAMMAQ_CHECK(!options_.integer, "rerun: not with integer numerics");
  GAMMAQ_CHECK(dirty_nodes.size() == g_.nodes.size(), "rerun: one flag per node");
  GAMMAQ_CHECK(requantize.empty() || (options_.keep_unquantized && options_.fake_quant &&
                                      requantize.size() == g_.values.size()),
               "rerun: requantize needs keep_unquantized, a simulation and one flag per value");
  if (images)
    GAMMAQ_CHECK(images->shape.size() == 4 && images->shape[0] == batch_,
                 "rerun: images of another batch size");
  if (fast_) return fast_->graph->rerun(images, dirty_nodes, requantize);
  return run_reference(images, dirty_nodes, requantize, false);
}

const Tensor& Executor::run_reference(const Tensor* images, const std::vector<bool>& dirty_nodes,
                                      const std::vector<bool>& requantize, bool tap) {
  const FakeQuant* fq = options_.fake_quant;
  if (fq && options_.keep_unquantized) raw_.resize(g_.values.size());
  // Rounds value id after its producer ran; with keep_unquantized, first keeps its unrounded
  // value, or (from_raw) rounds that kept value again.
  auto quantize = [&](int id, bool from_raw) {
    if (!fq || !fq->value_format[id]) return;
    std::vector<float>& a = acts_[id].data;
    if (options_.keep_unquantized) {
      std::vector<float>& r = raw_[static_cast<size_t>(id)];
      if (from_raw) {
        GAMMAQ_CHECK(r.size() == a.size(), "requantize before the value was computed");
        std::copy(r.begin(), r.end(), a.begin());
      } else {
        r = a;
      }
    }
    quant::fake_quant(a, *fq->value_format[id], fq->rounding);
  };
  auto requant = [&](int id) { return !requantize.empty() && requantize[static_cast<size_t>(id)]; };
  if (images) {
    acts_[g_.input].data = images->data;
    quantize(g_.input, false);
    if (tap) tap_(g_.input, acts_[g_.input]);
  } else if (requant(g_.input)) {
    quantize(g_.input, true);
  }
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    if (!dirty_nodes[i]) {
      if (requant(g_.nodes[i].outputs[0])) quantize(g_.nodes[i].outputs[0], true);
      continue;
    }
    const Node& n = g_.nodes[i];
    std::vector<const Tensor*> ins;
    for (int id : n.inputs) {
      if (!g_.values[id].is_constant)
        ins.push_back(&acts_[id]);
      else if (fq && !fq->constant[id].data.empty())
        ins.push_back(&fq->constant[id]);
      else
        ins.push_back(&g_.values[id].data);
    }
    // The exact simulation where every activation in and out has a format; keeping the
    // unrounded values (tuning) needs the float result, rounded after as the fast path does.
    const std::optional<kernels::OutputQuant> q =
        fq && !options_.keep_unquantized ? kernels::output_quant(g_, *fq, n) : std::nullopt;
    if (q)
      kernels::run_node_rounded(n, ins, acts_[n.outputs[0]], *q);
    else
      kernels::run_node_reference(n, ins, acts_[n.outputs[0]]);
    quantize(n.outputs[0], false);
    if (tap) tap_(n.outputs[0], acts_[n.outputs[0]]);
  }
  return acts_[g_.output];
}

void Executor::reload_constants(size_t node) {
  GAMMAQ_CHECK(node < g_.nodes.size(), "reload_constants: node ", node);
  if (fast_) fast_->graph->reload_constants(node);  // the reference path reads them each run
}

std::string Executor::kernel_name(size_t node_index) {
  if (!fast_) return "reference";
  return fast_->graph->impl_name(node_index);
}

}  // namespace gammaq
