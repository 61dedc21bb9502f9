'use strict';
// Prints the table of models/README.md from the zoo's training records (models/*.train.json,
// written by models/train_zoo.py) and each ONNX file's sha256.
//   node scripts/zoo_readme.js
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const dir = path.resolve(__dirname, '..', 'models');
const arch = {
  googlenet: 'GoogLeNet-style: conv stem + LRN, 3 inception blocks (1x1/3x3/5x5/pool branches, Concat), max and average pooling, FC; BatchNorm folded at export',
  alexnet: 'AlexNet-style: 7x7/2 first conv, LRN after conv 1 and 2, 5 convs, 3 FC layers; BatchNorm folded at export',
  vgg: 'VGG-style: 3 stages of two 3x3 convs + max pooling, 2 FC layers; BatchNorm folded at export',
  resnet: 'ResNet-style: 4 basic blocks with residual Add, BatchNormalization nodes kept in the graph',
  mobilenetv2: 'MobileNetV2-style: 6 inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 linear), ReLU6 as Clip',
};
console.log('| file | architecture | opset | parameters | MACs / image | float top-1 | float top-5 | sha256 |');
console.log('|---|---|---:|---:|---:|---:|---:|---|');
for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.train.json')).sort()) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const onnx = path.join(dir, r.model + '.onnx');
  const sha = crypto.createHash('sha256').update(fs.readFileSync(onnx)).digest('hex');
  console.log(`| ${r.model}.onnx | ${arch[r.model] || ''} | ${r.opset} | ${r.params.toLocaleString('en')} | ` +
    `${(r.macs / 1e6).toFixed(2)} M | ${(100 * r.top1).toFixed(2)}% | ${(100 * r.top5).toFixed(2)}% | \`${sha.slice(0, 16)}…\` |`);
}
