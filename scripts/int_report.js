'use strict';
// Integer engine speed on every zoo model, in one run on the same images, threads and batch:
// `gammaq run` (integer, w8a8 GGD plan; int8 kernels, and --kernels reference: int32 loops
// only) against `gammaq eval` (float, fast path) and ONNX Runtime running the plan's QDQ export
// (gammaq export --format qdq). Three rounds, alternating, medians kept. Appends to
// bench/results.json ("integer") and prints a Markdown table.
//   node scripts/int_report.js [--images 2000] [--threads 2] [--bits 8] [--build build]
//        [--rounds 3] [--no-write]
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');
const { gitCommit, cpuName, appendResults, opt } = require('./lib/bench');

const root = path.resolve(__dirname, '..');
const images = opt('--images', '2000');
const threads = opt('--threads', '2');
const bits = opt('--bits', '8');
const rounds = Number(opt('--rounds', '3'));
const bin = path.join(path.resolve(root, opt('--build', 'build')), 'gammaq');
const write = !process.argv.includes('--no-write');
const models = fs.readdirSync(path.join(root, 'models')).filter((f) => f.endsWith('.onnx'))
  .map((f) => path.basename(f, '.onnx')).sort();

function json(args) {
  return JSON.parse(execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
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
  const qdq = path.join(dir, 'qdq.onnx');
  execFileSync(bin, ['export', dir, '--format', 'qdq', '-o', qdq], { stdio: ['ignore', 'ignore', 'inherit'] });
  const speeds = { float: [], integer: [], ort_qdq: [] };
  let top1 = null;
  for (let r = 0; r < rounds; r++) {
    speeds.float.push(json(['eval', path.join(root, 'models', `${m}.onnx`), '--data', data,
      '--threads', threads, '--json', '--quiet']).images_per_s);
    const q = json(['run', dir, '--data', data, '--threads', threads, '--json', '--quiet']);
    speeds.integer.push(q.images_per_s);
    top1 = q.top1;
    speeds.ort_qdq.push(JSON.parse(execFileSync(process.execPath, [path.join(__dirname, 'ort_eval.js'),
      qdq, '--data', 'fashion-mnist:test', '--limit', images, '--threads', threads, '--json'],
    { encoding: 'utf8' })).images_per_s);
  }
  const ref = json(['run', dir, '--data', data, '--threads', threads, '--kernels', 'reference',
    '--json', '--quiet']);
  const int8 = json(['run', dir, '--data', `fashion-mnist:test[0:64]`, '--threads', threads,
    '--json', '--quiet']).convolutions;
  entry.models[m] = {
    float_images_per_s: median(speeds.float), integer_images_per_s: median(speeds.integer),
    integer_int32_images_per_s: ref.images_per_s, ort_qdq_images_per_s: median(speeds.ort_qdq),
    ratio: median(speeds.integer) / median(speeds.float),
    ratio_ort: median(speeds.integer) / median(speeds.ort_qdq), top1,
    int8_convolutions: int8.filter((c) => !c.includes('int32')).length,
    split_convolutions: int8.filter((c) => c.includes('split')).length, convolutions: int8.length,
  };
}
fs.rmSync(tmp, { recursive: true, force: true });
if (write) appendResults(root, 'integer', [entry]);
console.log(`\n${entry.cpu}, ${threads} thread(s), commit ${entry.commit}; w${bits}a${bits}, ` +
  `${images} images\n`);
console.log('| model | float | integer (int8 kernels) | integer (int32 only) | ORT QDQ | ' +
  'integer / float | integer / ORT | int8 convs (split) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [m, r] of Object.entries(entry.models)) {
  console.log(`| ${m} | ${r.float_images_per_s.toFixed(0)} | ${r.integer_images_per_s.toFixed(0)} | ` +
    `${r.integer_int32_images_per_s.toFixed(0)} | ${r.ort_qdq_images_per_s.toFixed(0)} | ` +
    `${r.ratio.toFixed(2)}x | ${r.ratio_ort.toFixed(2)}x | ` +
    `${r.int8_convolutions}/${r.convolutions} (${r.split_convolutions}) |`);
}
