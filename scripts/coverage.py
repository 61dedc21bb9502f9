#!/usr/bin/python3
"""The coverage table of real CNN architectures (docs/coverage.md, issue 18 item 5).

Exports torchvision 0.14's architectures (random weights: coverage, numerics and speed need no
trained ones; batch-norm statistics from a few random images so that activations keep a
realistic range) to ONNX at opset 13 and at opset 17 with BatchNormalization kept, then for
each model records whether gammaq
  loads it         gammaq inspect (with --outputs where a detector's post-processing is cut),
  equals ORT       scripts/ort_crosscheck.js on random images (float, max relative error),
  quantizes w8a8   gammaq quantize --report on random images (label-free agreement),
  draws the report report.html written.
Needs Debian's python3-torch, python3-torchvision, python3-onnx, python3-numpy (not installed
by scripts/setup.sh: the build and tests do not need them) and the npm ONNX Runtime.

  /usr/bin/python3 scripts/coverage.py [--models a,b] [--images 4] [--work DIR] [--out docs/coverage.md]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GAMMAQ = os.path.join(ROOT, "build", "gammaq")

# name -> (constructor, input size, gammaq --outputs or None, needs dict-output unwrapping)
CLASSIFIERS = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small",
               "mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf", "shufflenet_v2_x1_0",
               "squeezenet1_1", "densenet121", "googlenet", "inception_v3", "mnasnet1_0",
               "vgg11_bn"]
SEGMENTERS = ["lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "fcn_resnet50"]
DETECTORS = ["ssdlite320_mobilenet_v3_large"]


class OutOnly(torch.nn.Module):
    """A segmentation model's 'out' map (torchvision returns a dict)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


class SsdHeads(torch.nn.Module):
    """SSDlite before its post-processing: the backbone and the two heads (box regression,
    class logits), as users cut a detector for fixed-point hardware."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        feats = list(self.m.backbone(x).values())
        h = self.m.head(feats)
        return h["bbox_regression"], h["cls_logits"]


def build(name):
    tv = torchvision.models
    if name in CLASSIFIERS:
        kw = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
        m = getattr(tv, name)(weights=None, **kw)
        size = 299 if name == "inception_v3" else 224
        return m, size, None
    if name in SEGMENTERS:
        m = getattr(tv.segmentation, name)(weights=None, weights_backbone=None, aux_loss=False)
        return OutOnly(m), 224, None
    m = tv.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)
    return SsdHeads(m), 320, None


def calibrate_bn(m, size, rng):
    """Batch-norm running statistics from random images (train mode, no gradients)."""
    m.train()
    with torch.no_grad():
        for _ in range(3):
            m(torch.from_numpy(rng.standard_normal((4, 3, size, size)).astype(np.float32)))
    m.eval()


def export(m, size, path, opset, keep_bn):
    x = torch.zeros(1, 3, size, size)
    outs = m(x)
    names = ["out%d" % i for i in range(len(outs))] if isinstance(outs, tuple) else ["out"]
    torch.onnx.export(m, x, path, opset_version=opset, input_names=["input"], output_names=names,
                      dynamic_axes={"input": {0: "N"}, **{n: {0: "N"} for n in names}},
                      do_constant_folding=not keep_bn,
                      training=torch.onnx.TrainingMode.PRESERVE if keep_bn else
                      torch.onnx.TrainingMode.EVAL)
    return names


def run(cmd, timeout=1800):
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.time() - t0


def first_error(text):
    for line in text.splitlines():
        if "error" in line:
            return line.strip()[:160]
    return text.strip().splitlines()[-1][:160] if text.strip() else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(CLASSIFIERS + SEGMENTERS + DETECTORS))
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--work", default="/tmp/gammaq_coverage")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "coverage.md"))
    ap.add_argument("--opsets", default="13,17")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.manual_seed(0)
    rows = []
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    for name in args.models.split(","):
        rng = np.random.default_rng(0)
        m, size, _ = build(name)
        calibrate_bn(m, size, rng)
        images = rng.standard_normal((args.images, 3, size, size)).astype(np.float32)
        npy = os.path.join(args.work, "%s_x.npy" % name)
        np.save(npy, images)
        labels = os.path.join(args.work, "labels_%d.npy" % args.images)
        np.save(labels, np.zeros(args.images, np.int64))
        for opset in [int(o) for o in args.opsets.split(",")]:
            keep_bn = opset >= 17
            tag = "%s opset %d%s" % (name, opset, ", BN kept" if keep_bn else "")
            path = os.path.join(args.work, "%s_op%d.onnx" % (name, opset))
            row = {"model": name, "opset": opset, "bn_kept": keep_bn}
            try:
                outs = export(m, size, path, opset, keep_bn)
            except Exception as e:  # noqa: BLE001 -- recorded in the table
                row["export"] = "torch export failed: %s" % str(e).splitlines()[0][:120]
                rows.append(row)
                print(tag, row["export"], flush=True)
                continue
            gq_outs = ["--outputs", ",".join(outs)] if len(outs) > 1 else []
            rc, out, err, _ = run([GAMMAQ, "inspect", path, "--json"] + gq_outs)
            row["loads"] = rc == 0
            if rc != 0:
                row["error"] = first_error(err)
            if rc == 0:
                info = json.loads(out)
                row["nodes"] = len(info["layers"])
                row["macs"] = info["macs"]
                if len(outs) == 1:
                    rc, out, err, _ = run(["node", os.path.join(ROOT, "scripts", "ort_crosscheck.js"),
                                           GAMMAQ, path, "--data", "npy:%s,%s" % (npy, labels),
                                           "--rel", "1e-3"])
                    row["ort"] = out.strip().splitlines()[-1] if out.strip() else first_error(err)
                    row["ort_ok"] = rc == 0
                qdir = os.path.join(args.work, "%s_op%d_q" % (name, opset))
                rc, out, err, secs = run([GAMMAQ, "quantize", path, *gq_outs, "--calib",
                                          "npy:" + npy, "--test", "npy:" + npy, "--out", qdir,
                                          "--report", "--report-images", str(args.images),
                                          "--quiet", "--json"])
                row["quantizes"] = rc == 0
                row["quantize_s"] = round(secs, 1)
                if rc == 0:
                    s = json.loads(out)
                    row["agreement"] = s.get("agreement", {}).get("outputs", [])
                    row["report"] = os.path.exists(os.path.join(qdir, "report.html"))
                else:
                    row["error"] = first_error(err)
            rows.append(row)
            print(tag, json.dumps(row)[:300], flush=True)
    write_table(rows, args, cpu)


def cell(ok):
    return "yes" if ok else ("**no**" if ok is False else "-")


def write_table(rows, args, cpu):
    lines = ["# Coverage of real CNN architectures", "",
             "Written by `/usr/bin/python3 scripts/coverage.py` (torchvision %s, torch %s), "
             "%d random images per model (N(0,1) pixels; batch-norm statistics from random "
             "images), on %s, 2 threads. Random weights: this table is about loading, "
             "numerics against ONNX Runtime and quantizing, not accuracy. *float vs ORT*: the "
             "largest logit difference over the largest logit (scripts/ort_crosscheck.js, "
             "bound 1e-3) and the same top-1; *w8a8 vs float*: gammaq quantize's label-free "
             "agreement of the first output (top-1 agreement for classifiers, mean IoU for "
             "maps) and its SQNR." % (torchvision.__version__, torch.__version__, args.images,
                                       cpu or "this CPU"),
             "",
             "| model | opset | loads | float vs ORT | quantizes w8a8 | w8a8 vs float | report | note |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ort = r.get("ort", "")
        if ort.startswith("ok") or ort.startswith("FAIL"):
            import re
            mm = re.search(r"max relative logit error ([0-9.e+-]+)", ort)
            ort = ("%s %s" % ("yes" if r.get("ort_ok") else "**no**", mm.group(1) if mm else ""))
        elif "ort_ok" not in r and r.get("loads"):
            ort = "- (several outputs)"
        ag = ""
        if r.get("agreement"):
            a = r["agreement"][0]
            parts = []
            if "top1_agreement" in a:
                parts.append("top-1 %.0f%%" % (100 * a["top1_agreement"]))
            if "miou" in a:
                parts.append("mIoU %.1f%%" % (100 * a["miou"]))
            if a.get("sqnr_db") is not None:
                parts.append("%.1f dB" % a["sqnr_db"])
            ag = ", ".join(parts)
        note = r.get("export") or r.get("error", "")
        lines.append("| %s | %d%s | %s | %s | %s | %s | %s | %s |" % (
            r["model"], r["opset"], " (BN kept)" if r["bn_kept"] else "", cell(r.get("loads")),
            ort, cell(r.get("quantizes")), ag, cell(r.get("report")), note.replace("|", "/")))
    # The speed section (scripts/bench_report.js --models, pasted below the table) is kept.
    tail = ""
    if os.path.exists(args.out):
        old = open(args.out).read()
        at = old.find("\n## Speed at real size")
        if at >= 0:
            tail = old[at:]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n" + tail)
    print("wrote", args.out)


if __name__ == "__main__":
    sys.exit(main())
