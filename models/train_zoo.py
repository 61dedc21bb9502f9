#!/usr/bin/python3
"""Train gammaq's model zoo on Fashion-MNIST and export each model to ONNX.

Run with Debian's interpreter (python3-torch, python3-onnx):
    /usr/bin/python3 models/train_zoo.py [--models googlenet,alexnet,...] [--threads 2]

Never run in CI: the ONNX files it writes are committed. Training uses the first 50,000
images of the training split; images 50,000-59,999 are the validation split (never seen
here); the test split is used only to print the final score.
"""
import argparse
import gzip
import hashlib
import json
import os
import random
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
MEAN, STD = 0.2860, 0.3530  # train-split pixel mean/std of Fashion-MNIST (in [0,1] units)
PREPROCESS = {"scale": 1.0 / 255.0, "mean": [MEAN], "std": [STD], "channels": "gray",
              "size": [28, 28]}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(f"{DATA}/{prefix}-images-idx3-ubyte.gz").astype(np.float32)
    y = read_idx(f"{DATA}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    x = (x / 255.0 - MEAN) / STD
    return torch.from_numpy(x[:, None]), torch.from_numpy(y)


# ------------------------------------------------------------------------------ models
class _LRNFn(torch.autograd.Function):
    """Local response normalisation exported as one ONNX LRN node (torch decomposes it)."""

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        return F.local_response_norm(x, size, alpha, beta, k)

    @staticmethod
    def symbolic(g, x, size, alpha, beta, k):
        return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)


class LRN(nn.Module):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.args = (size, alpha, beta, k)

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return _LRNFn.apply(x, *self.args)
        return F.local_response_norm(x, *self.args)


def conv_bn_relu(cin, cout, k, pad=0):
    """Conv + BatchNorm + ReLU; the BatchNorm is folded into the conv when exported."""
    return [nn.Conv2d(cin, cout, k, padding=pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class Inception(nn.Module):
    """1x1 / 1x1->3x3 / 1x1->5x5 / maxpool->1x1 branches, concatenated (GoogLeNet)."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, cp):
        super().__init__()
        self.b1 = nn.Sequential(*conv_bn_relu(cin, c1, 1))
        self.b3 = nn.Sequential(*conv_bn_relu(cin, c3r, 1), *conv_bn_relu(c3r, c3, 3, 1))
        self.b5 = nn.Sequential(*conv_bn_relu(cin, c5r, 1), *conv_bn_relu(c5r, c5, 5, 2))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), *conv_bn_relu(cin, cp, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn_relu(1, 24, 3, 1), nn.MaxPool2d(2), LRN(),
                                  *conv_bn_relu(24, 24, 1), *conv_bn_relu(24, 48, 3, 1))  # 14x14
        self.i3a = Inception(48, 16, 24, 32, 8, 16, 16)      # -> 80 @14x14
        self.pool = nn.MaxPool2d(3, 2, 1)                    # 14 -> 7
        self.i4a = Inception(80, 32, 32, 48, 8, 16, 16)      # -> 112 @7x7
        self.i4b = Inception(112, 48, 32, 64, 12, 24, 24)    # -> 160 @7x7
        self.avg = nn.AvgPool2d(7)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(160, 10)

    def forward(self, x):
        x = self.i4b(self.i4a(self.pool(self.i3a(self.stem(x)))))
        return self.fc(self.drop(torch.flatten(self.avg(x), 1)))


class AlexNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 48, 7, 2, 3, bias=False), nn.BatchNorm2d(48), nn.ReLU(), LRN(),  # 14
            nn.MaxPool2d(3, 2, 1),                                   # 7
            nn.Conv2d(48, 96, 5, padding=2, bias=False), nn.BatchNorm2d(96), nn.ReLU(), LRN(),
            *conv_bn_relu(96, 96, 3, 1),
            *conv_bn_relu(96, 96, 3, 1),
            *conv_bn_relu(96, 64, 3, 1),
            nn.MaxPool2d(3, 2))                                      # 3
        self.classifier = nn.Sequential(
            nn.Dropout(0.4), nn.Linear(64 * 3 * 3, 256), nn.ReLU(),
            nn.Dropout(0.4), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class VGG(nn.Module):
    def __init__(self):
        super().__init__()
        def block(cin, cout, n):
            layers = []
            for i in range(n):
                layers += conv_bn_relu(cin if i == 0 else cout, cout, 3, 1)
            return layers + [nn.MaxPool2d(2)]
        self.features = nn.Sequential(*block(1, 16, 2), *block(16, 48, 2), *block(48, 96, 2))
        self.classifier = nn.Sequential(nn.Dropout(0.4), nn.Linear(96 * 3 * 3, 256), nn.ReLU(),
                                        nn.Dropout(0.4), nn.Linear(256, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                       nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24),
                                  nn.ReLU())                                   # 14x14
        self.layers = nn.Sequential(BasicBlock(24, 24, 1), BasicBlock(24, 48, 1),
                                    BasicBlock(48, 96, 2), BasicBlock(96, 128, 2))
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.body = nn.Sequential(
            nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(),
            nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False), nn.BatchNorm2d(hid),
            nn.ReLU6(),
            nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.body(x) if self.use_res else self.body(x)


class MobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU6())                                  # 14x14
        cfg = [(16, 16, 1, 1), (16, 24, 1, 3), (24, 32, 2, 3), (32, 32, 1, 3), (32, 48, 1, 3),
               (48, 64, 1, 3)]
        self.blocks = nn.Sequential(*[InvertedResidual(*c) for c in cfg])
        self.head = nn.Sequential(nn.Conv2d(64, 192, 1, bias=False), nn.BatchNorm2d(192),
                                  nn.ReLU6())
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(192, 10)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(self.drop(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


# name: (class, epochs, lr, opset, keep BatchNormalization nodes in the ONNX graph)
ZOO = {
    "googlenet": (GoogLeNet, 5, 3e-3, 13, False),
    "alexnet": (AlexNet, 8, 3e-3, 11, False),
    "vgg": (VGG, 5, 2e-3, 13, False),
    "resnet": (ResNet, 5, 3e-3, 13, True),
    "mobilenetv2": (MobileNetV2, 5, 4e-3, 17, False),
}


def augment(x):
    """Random horizontal flip and random 2-pixel translation (pad + crop)."""
    n = x.shape[0]
    flip = torch.rand(n) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    pad = F.pad(x, (1, 1, 1, 1), value=-MEAN / STD)
    dx, dy = random.randint(0, 2), random.randint(0, 2)
    return pad[:, :, dy:dy + 28, dx:dx + 28]


def evaluate(model, x, y):
    model.eval()
    top1 = top5 = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            out = model(x[i:i + 1000])
            t5 = out.topk(5, 1).indices
            top1 += (t5[:, 0] == y[i:i + 1000]).sum().item()
            top5 += (t5 == y[i:i + 1000, None]).any(1).sum().item()
    return top1 / len(x), top5 / len(x)


def count_macs(model):
    macs = 0
    def hook(mod, inp, out):
        nonlocal macs
        if isinstance(mod, nn.Conv2d):
            macs += out.numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, nn.Linear):
            macs += mod.in_features * mod.out_features
    hs = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for h in hs:
        h.remove()
    return macs


def train(name, threads):
    cls, epochs, lr, opset, keep_bn = ZOO[name]
    torch.manual_seed(7767517)
    random.seed(7767517)
    torch.set_num_threads(threads)
    xtr, ytr = load("train")
    xtr, ytr = xtr[:50000], ytr[:50000]
    xte, yte = load("test")
    model = cls()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    bs = 256
    steps = epochs * ((len(xtr) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    t0 = time.time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        tot = 0.0
        for i in range(0, len(xtr), bs):
            idx = perm[i:i + bs]
            xb, yb = augment(xtr[idx]), ytr[idx]
            loss = F.cross_entropy(model(xb), yb, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        t1, t5 = evaluate(model, xte, yte)
        print(f"{name} epoch {ep + 1}/{epochs} loss {tot / len(xtr):.4f} test top1 {t1:.4f} "
              f"top5 {t5:.4f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    path = os.path.join(HERE, f"{name}.onnx")
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=opset,
                      input_names=["input"], output_names=["logits"], training=mode,
                      do_constant_folding=not keep_bn,
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    m = onnx.load(path)
    m.doc_string = f"gammaq zoo: {name}-style CNN for Fashion-MNIST (models/train_zoo.py)"
    p = m.metadata_props.add()
    p.key, p.value = "gammaq.preprocess", json.dumps(PREPROCESS)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    ops = sorted({n.op_type for n in m.graph.node})
    t1, t5 = evaluate(model, xte, yte)
    info = {"model": name, "params": sum(p.numel() for p in model.parameters()),
            "macs": count_macs(model), "top1": t1, "top5": t5, "opset": opset, "ops": ops,
            "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
            "train_seconds": round(time.time() - t0)}
    print(json.dumps(info), flush=True)
    with open(os.path.join(HERE, f"{name}.train.json"), "w") as f:
        json.dump(info, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(ZOO))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    for name in args.models.split(","):
        train(name, args.threads)


if __name__ == "__main__":
    sys.exit(main())
