#include "export/qdq.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "export/qdq_writer.h"
#include "ops/op.h"

namespace gammaq {

void QdqWriter::emit(const Node& n) {
  const int out = n.outputs[0];
  const std::string& dst = name_of_[static_cast<size_t>(out)];
  const ops::OpDef& def = ops::def(n.op);
  if (def.fuses_as != Activation::None) {  // a standalone Relu/Clip/LeakyRelu
    finish(input(n.inputs[0]), act_of(n), out);
    return;
  }
  const Act act = act_of(n);
  const bool plain = act.kind == Activation::None && !fq_.value_format[static_cast<size_t>(out)];
  // Where the operator writes: the output itself, or an intermediate finish() continues from.
  const std::string y = plain ? dst : unique(dst + "/raw");
  ops::QdqTail tail = ops::QdqTail::Finish;
  if (def.qdq) {
    tail = def.qdq(*this, n, y);
  } else {
    std::vector<std::string> ins;
    for (int v : n.inputs) ins.push_back(input(v));
    node(std::string(op_name(n.op)), n.name, ins, y);
  }
  if (plain || tail == ops::QdqTail::Done) return;
  finish(y, tail == ops::QdqTail::FinishPlain ? Act{} : act, out);
}

namespace {

namespace fs = std::filesystem;

int64_t required_opset(const quant::QuantPlan& plan, int64_t asked, QdqReport& report) {
  if (asked != 13 && asked != 21)
    throw Error(ErrorKind::InvalidOption,
                str_cat("--opset ", asked, ": expected 13 (int8/uint8) or 21 (also int4/int16)"));
  int widest = 0;
  for (const auto& [name, a] : plan.activations) {
    if (a.format.table)
      throw Error(ErrorKind::InvalidOption,
                  str_cat("feature map '", name, "' is threshold-quantized (", a.method,
                          "): QuantizeLinear has one uniform scale; use --format c or bin"));
    widest = std::max(widest, a.format.bits);
  }
  for (const auto& [name, l] : plan.layers) widest = std::max(widest, l.weight.bits);
  if (widest > 8 && asked < 21) {
    report.warnings.push_back(
        str_cat("formats of ", widest, " bits need int16 QuantizeLinear: opset raised to 21"));
    return 21;
  }
  return asked;
}

}  // namespace

std::string qdq_model(const Graph& g, const quant::QuantPlan& plan, const QdqOptions& options,
                      QdqReport* report) {
  QdqReport local;
  QdqReport& r = report ? *report : local;
  r = QdqReport{};
  r.opset = required_opset(plan, options.opset, r);
  if (plan.rounding != quant::Rounding::HalfEven)
    r.warnings.push_back(str_cat("quant.json rounds ", quant::rounding_name(plan.rounding),
                                 "; ONNX QuantizeLinear rounds ties to even, so ties may differ"));
  return QdqWriter(g, plan, options, r.opset, r).run();
}

QdqReport export_qdq(const Graph& g, const quant::QuantPlan& plan, const QdqOptions& options,
                     const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw Error(ErrorKind::InvalidOption,
                str_cat(path, ": is a folder; --format qdq writes one .onnx file"));
  QdqReport r;
  const std::string bytes = qdq_model(g, plan, options, &r);
  const std::string tmp = str_cat(path, ".tmp.", getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    f << bytes;
    f.close();
    if (!f.good()) {
      fs::remove(tmp, ec);
      throw Error(ErrorKind::Io, str_cat(path, ": cannot write"));
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    throw Error(ErrorKind::Io, str_cat(path, ": cannot write (", why, ")"));
  }
  return r;
}

}  // namespace gammaq
