#!/usr/bin/python3
"""Writes the seed corpus of the ONNX importer fuzzer: tiny valid models built with onnx.helper.
Run: /usr/bin/python3 tests/fuzz/make_onnx_seeds.py  (needs Debian's python3-onnx)"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "onnx")


def model(nodes, inits, name, opset=13, chw=(1, 6, 6)):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *chw])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, name, [x], [y],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


def main():
    os.makedirs(OUT, exist_ok=True)
    r = np.random.default_rng(1)
    w = r.standard_normal((2, 1, 3, 3)).astype(np.float32)
    b = np.zeros(2, np.float32)
    fw = r.standard_normal((4, 18)).astype(np.float32)
    model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
           helper.make_node("Relu", ["c"], ["r"]),
           helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
           helper.make_node("Flatten", ["p"], ["f"]),
           helper.make_node("Gemm", ["f", "fw"], ["y"], transB=1)],
          {"w": w, "b": b, "fw": fw}, "conv_pool_gemm")
    s = np.ones(2, np.float32)
    model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
           helper.make_node("BatchNormalization", ["c", "s", "b", "b", "s"], ["n"]),
           helper.make_node("LRN", ["n"], ["l"], size=3),
           helper.make_node("AveragePool", ["l"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
           helper.make_node("Concat", ["a", "l"], ["k"], axis=1),
           helper.make_node("GlobalAveragePool", ["k"], ["g"]),
           helper.make_node("Flatten", ["g"], ["y"])],
          {"w": w, "b": b, "s": s}, "bn_lrn_concat", opset=11)
    dw = r.standard_normal((2, 1, 3, 3)).astype(np.float32)
    lo, hi = np.array(0, np.float32), np.array(6, np.float32)
    model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
           helper.make_node("Clip", ["c", "lo", "hi"], ["r"]),
           helper.make_node("Conv", ["r", "dw"], ["d"], group=2, pads=[1, 1, 1, 1]),
           helper.make_node("Add", ["d", "r"], ["a"]),
           helper.make_node("Pad", ["a", "pads"], ["p"]),
           helper.make_node("Reshape", ["p", "shape"], ["y"])],
          {"w": w, "dw": dw, "lo": lo, "hi": hi,
           "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64),
           "shape": np.array([0, -1], np.int64)}, "clip_dw_add_pad", opset=17)


if __name__ == "__main__":
    main()
