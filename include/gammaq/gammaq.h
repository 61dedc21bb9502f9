// gammaq: post-training fixed-point quantization of CNNs -- the whole public API in one include.
//
//   gammaq/model.h     Model, QuantizedModel: load, quantize, evaluate, save/load, export
//   gammaq/dataset.h   Dataset: SPEC strings (open_dataset) and in-memory arrays
//                      (make_array_dataset); Preprocess
//   gammaq/evaluate.h  Accuracy (top-1/top-5, ties)
//   gammaq/error.h     Error (bad input, with ErrorKind) and InternalError (a bug)
//   gammaq/tensor.h    Tensor, Shape
//   gammaq/graph.h, gammaq/executor.h   the graph and executor, for lower-level use
//
// docs/library.md shows how to install, find_package(gammaq) and link gammaq::gammaq.
#pragma once

#include "gammaq/dataset.h"
#include "gammaq/error.h"
#include "gammaq/evaluate.h"
#include "gammaq/executor.h"
#include "gammaq/graph.h"
#include "gammaq/model.h"
#include "gammaq/tensor.h"
