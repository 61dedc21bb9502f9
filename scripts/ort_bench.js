#!/usr/bin/env node
'use strict';
// Measures ONNX Runtime throughput of a model on seeded random-normal
// [batch, C, H, W] inputs and prints the result as JSON.

const path = require('path');
const common = require('./lib/common');

const PROG = 'ort_bench';
const USAGE = 'usage: node scripts/ort_bench.js MODEL.onnx [--batch 64] [--threads 1] [--seconds 3] [--warmup 3] [--seed 0]';

const SPEC = {
  '--batch': 'value',
  '--threads': 'value',
  '--seconds': 'value',
  '--warmup': 'value',
  '--seed': 'value',
  '--help': 'flag',
};

// mulberry32 uniform generator in (0, 1) + Box-Muller: reproducible N(0, 1) samples.
function randomNormal(count, seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const th = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(th);
    if (i + 1 < count) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

async function main() {
  const { positional, opts } = common.parseArgs(process.argv.slice(2), SPEC);
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positional.length !== 1) common.fail('', 'expected exactly one MODEL.onnx argument (see --help)');
  const modelPath = positional[0];
  const batch = common.parseIntOpt('--batch', opts.batch, 64, 1);
  const threads = common.parseIntOpt('--threads', opts.threads, 1, 1);
  const seconds = common.parseNumOpt('--seconds', opts.seconds, 3);
  const warmup = common.parseIntOpt('--warmup', opts.warmup, 3, 1);
  const seed = common.parseIntOpt('--seed', opts.seed, 0, 0);
  common.requireFile(modelPath);

  const ort = common.loadOrt();
  const session = await common.createSession(modelPath, threads);
  const io = common.sessionIO(session, modelPath);
  const [c, h, w] = io.chw.map((d, i) => (d === null ? [1, 28, 28][i] : d));
  const input = new ort.Tensor('float32', randomNormal(batch * c * h * w, seed), [batch, c, h, w]);
  const feeds = { [io.inputName]: input };
  const fetches = [io.outputName];

  for (let i = 0; i < warmup; i++) await session.run(feeds, fetches);

  const limitNs = BigInt(Math.round(seconds * 1e9));
  let runs = 0;
  let busyNs = 0n;
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < limitNs) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds, fetches);
    busyNs += process.hrtime.bigint() - t0;
    runs++;
  }

  const result = {
    model: path.basename(modelPath, '.onnx'),
    batch,
    threads,
    images_per_s: (runs * batch) / (Number(busyNs) / 1e9),
    runs,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

common.runMain(PROG, main);
