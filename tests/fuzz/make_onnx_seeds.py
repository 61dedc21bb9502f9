#!/usr/bin/python3
"""Writes the seed corpus of the ONNX importer fuzzer: tiny valid models built with onnx.helper.
Run: /usr/bin/python3 tests/fuzz/make_onnx_seeds.py  (needs Debian's python3-onnx)"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "onnx")


def output_y():
    """The graph output with its shape left to inference (present: libonnx's checker wants it)."""
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    y.type.tensor_type.shape.SetInParent()
    return y


def model(nodes, inits, name, opset=13, chw=(1, 6, 6)):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *chw])
    y = output_y()
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

    # Issue 18's operators and opsets: Resize/Upsample, ConvTranspose, the swish family,
    # data movement, an NHWC input, the shape subgraph torch writes, opsets 9 and 18.
    f = r.standard_normal((2, 2, 3, 3)).astype(np.float32)
    model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
           helper.make_node("Resize", ["c", "", "s"], ["u"], mode="nearest",
                            coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
           helper.make_node("ConvTranspose", ["u", "f"], ["t"], strides=[2, 2], pads=[1, 1, 1, 1],
                            output_padding=[1, 1]),
           helper.make_node("Shape", ["t"], ["sh"]),
           helper.make_node("Slice", ["sh", "z", "two"], ["nc"]),
           helper.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
           helper.make_node("Resize", ["t", "", "", "sizes"], ["y"], mode="linear",
                            coordinate_transformation_mode="pytorch_half_pixel")],
          {"w": w, "f": f, "s": np.array([1, 1, 2, 2], np.float32),
           "z": np.array([0], np.int64), "two": np.array([2], np.int64),
           "hw": np.array([5, 7], np.int64)}, "resize_deconv", opset=13)
    model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
           helper.make_node("HardSwish", ["c"], ["h"]),
           helper.make_node("HardSigmoid", ["h"], ["g"], alpha=1.0 / 6, beta=0.5),
           helper.make_node("Mul", ["h", "g"], ["m"]),
           helper.make_node("Transpose", ["m"], ["tr"], perm=[0, 1, 3, 2]),
           helper.make_node("Split", ["tr"], ["a", "b"], axis=1),
           helper.make_node("Max", ["a", "b"], ["mx"]),
           helper.make_node("Pad", ["mx", "pads"], ["p"], mode="reflect"),
           helper.make_node("ReduceMean", ["p"], ["y"], axes=[2, 3], keepdims=0)],
          {"w": w, "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)}, "swish_split_pad",
          opset=14)
    model([helper.make_node("Upsample", ["x", "s"], ["u"], mode="nearest"),
           helper.make_node("Conv", ["u", "w"], ["c"]),
           helper.make_node("Softmax", ["c"], ["y"], axis=1)],
          {"w": w, "s": np.array([1, 1, 2, 2], np.float32)}, "upsample9", opset=9)
    model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
           helper.make_node("Split", ["c"], ["a", "b"], axis=1, num_outputs=2),
           helper.make_node("Sub", ["a", "b"], ["d"]),
           helper.make_node("ReduceMax", ["d", "axes"], ["y"])],
          {"w": w, "axes": np.array([2, 3], np.int64)}, "opset18", opset=18)
    xt = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6, 6, 1])
    g = helper.make_graph(
        [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
         helper.make_node("Conv", ["t", "w"], ["c"]),
         helper.make_node("Mul", ["c", "sc"], ["m"]),
         helper.make_node("Add", ["m", "sc"], ["y"])],
        "nhwc", [xt], [output_y()],
        [numpy_helper.from_array(w, "w"),
         numpy_helper.from_array(np.array([[[0.5]], [[2.0]]], np.float32), "sc")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, os.path.join(OUT, "nhwc_affine.onnx"))


if __name__ == "__main__":
    main()
