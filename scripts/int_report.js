'use strict';
// Integer engine speed on every zoo model: images/s of `gammaq run` (integer, w8a8 GGD plan)
// against `gammaq eval` (float, fast path) on the same images and threads, in one run.
// Appends to bench/results.json ("integer") and prints a Markdown table.
//   node scripts/int_report.js [--images 2000] [--threads 2] [--bits 8] [--build build]
//        [--no-write]
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');
const { gitCommit, cpuName, appendResults, opt } = require('./lib/bench');

const root = path.resolve(__dirname, '..');
const images = opt('--images', '2000');
const threads = opt('--threads', '2');
const bits = opt('--bits', '8');
const bin = path.join(path.resolve(root, opt('--build', 'build')), 'gammaq');
const write = !process.argv.includes('--no-write');
const models = fs.readdirSync(path.join(root, 'models')).filter((f) => f.endsWith('.onnx'))
  .map((f) => path.basename(f, '.onnx')).sort();

function json(args) {
  return JSON.parse(execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gammaq-int-'));
const data = `fashion-mnist:test[0:${images}]`;
const entry = { date: new Date().toISOString(), commit: gitCommit(root), cpu: cpuName(),
  threads: Number(threads), bits: Number(bits), images: Number(images), models: {} };
for (const m of models) {
  const dir = path.join(tmp, m);
  execFileSync(bin, ['quantize', path.join(root, 'models', `${m}.onnx`), '--calib',
    'fashion-mnist:train[0:500]', '--wbits', bits, '--abits', bits, '--quiet', '--out', dir],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  const f = json(['eval', path.join(root, 'models', `${m}.onnx`), '--data', data, '--threads',
    threads, '--json', '--quiet']);
  const q = json(['run', dir, '--data', data, '--threads', threads, '--json', '--quiet']);
  entry.models[m] = { float_images_per_s: f.images_per_s, integer_images_per_s: q.images_per_s,
    ratio: q.images_per_s / f.images_per_s };
}
fs.rmSync(tmp, { recursive: true, force: true });
if (write) appendResults(root, 'integer', [entry]);
console.log(`\n${entry.cpu}, ${threads} thread(s), commit ${entry.commit}; w${bits}a${bits}, ` +
  `${images} images\n`);
console.log('| model | float images/s | integer images/s | integer / float |');
console.log('|---|---:|---:|---:|');
for (const [m, r] of Object.entries(entry.models)) {
  console.log(`| ${m} | ${r.float_images_per_s.toFixed(0)} | ${r.integer_images_per_s.toFixed(0)} | ` +
    `${r.ratio.toFixed(2)}x |`);
}
