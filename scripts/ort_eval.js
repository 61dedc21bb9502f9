#!/usr/bin/env node
'use strict';
// Evaluates an ONNX classifier with ONNX Runtime on Fashion-MNIST (or a
// preprocessed NPY) and prints top-1/top-5 accuracy and throughput as JSON.

const path = require('path');
const common = require('./lib/common');

const PROG = 'ort_eval';
const USAGE = `usage: node scripts/ort_eval.js MODEL.onnx --data fashion-mnist:test|fashion-mnist:train|npy:FILE.npy
       [--slice a:b] [--limit N] [--batch 64] [--threads 1] [--labels LABELS.npy] [--logits OUT.npy] [--json]
       [--optimization all|extended|basic|disabled]`;

const SPEC = {
  '--data': 'value',
  '--slice': 'value',
  '--limit': 'value',
  '--batch': 'value',
  '--threads': 'value',
  '--labels': 'value',
  '--logits': 'value',
  '--json': 'flag',
  '--optimization': 'value',
  '--help': 'flag',
};

async function main() {
  const { positional, opts } = common.parseArgs(process.argv.slice(2), SPEC);
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positional.length !== 1) common.fail('', 'expected exactly one MODEL.onnx argument (see --help)');
  if (opts.data === undefined) common.fail('--data', 'is required');
  const modelPath = positional[0];
  const batch = common.parseIntOpt('--batch', opts.batch, 64, 1);
  const threads = common.parseIntOpt('--threads', opts.threads, 1, 1);
  const limit = common.parseIntOpt('--limit', opts.limit, Infinity, 1);
  common.requireFile(modelPath);
  if (opts.logits) common.requireWritableDir(opts.logits);

  const optimization = opts.optimization || 'all';
  if (!['all', 'extended', 'basic', 'disabled'].includes(optimization))
    common.fail('--optimization', `${optimization}: expected all, extended, basic or disabled`);
  const session = await common.createSession(modelPath, threads, optimization);
  const io = common.sessionIO(session, modelPath);
  const src = common.openData(opts.data, modelPath, io.chw, PROG, opts.labels);
  const [a, b] = common.parseSlice(opts.slice, src.count);
  const n = Math.min(b - a, limit);
  if (n <= 0) common.fail('--slice', `selects no images (data has ${src.count})`);

  const { logits, classes, runSeconds } = await common.runBatches(session, io, src, a, n, batch);
  const s = common.scoreLogits(logits, n, classes, src.labels, a);
  if (opts.logits) common.writeNpyFloat32(opts.logits, logits, [n, classes]);

  const result = {
    top1: src.labels ? s.top1 / n : null,
    top5: src.labels ? s.top5 / n : null,
    images: n,
    images_per_s: n / runSeconds,
    threads,
    tied_top1: s.tied_top1,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (!opts.json) {
    const pct = (x) => (x === null ? 'n/a' : `${(100 * x).toFixed(2)}%`);
    process.stderr.write(
      `${PROG}: ${path.basename(modelPath)} on ${opts.data}[${a}:${a + n}]: top1 ${pct(result.top1)}, ` +
        `top5 ${pct(result.top5)}, ${result.images_per_s.toFixed(1)} images/s ` +
        `(batch ${batch}, ${threads} thread${threads === 1 ? '' : 's'}, onnxruntime-node ${common.ortVersion()})` +
        `${opts.logits ? `, logits [${n}, ${classes}] -> ${opts.logits}` : ''}\n`,
    );
  }
}

common.runMain(PROG, main);
