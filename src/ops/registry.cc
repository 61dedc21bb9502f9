// The operator table: OpType -> its OpDef (op.h), in the order of gammaq/ops.inc.
#include "ops/op.h"

namespace gammaq::ops {
namespace {

const OpDef* const kTable[] = {
#define GAMMAQ_OP(e, name) &defs::e,
#include "gammaq/ops.inc"
#undef GAMMAQ_OP
};

}  // namespace

const OpDef& def(OpType op) noexcept { return *kTable[static_cast<size_t>(op)]; }

}  // namespace gammaq::ops
