'use strict';
// NUUQ weights on the zoo (issue 8's targets): per model, top-1 on the whole test set with
// 8-bit feature maps and weights as NUUQ codebooks of Q levels on the 8-bit grid (per output
// channel by default), against uniform 2-bit weights and float, with the stored bits per
// weight and model bytes from summary.json. Prints a Markdown table.
//   node scripts/nuuq_report.js [--levels 3,4,16] [--granularity channel] [--models ...]
//        [--build build] [--threads 2] [--test fashion-mnist:test]
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');
const { gitCommit, opt } = require('./lib/bench');

const root = path.resolve(__dirname, '..');
const levels = opt('--levels', '3,4,16').split(',').map(Number);
const granularity = opt('--granularity', 'channel');
const build = path.resolve(root, opt('--build', 'build'));
const threads = opt('--threads', '2');
const test = opt('--test', 'fashion-mnist:test');
const all = fs.readdirSync(path.join(root, 'models')).filter((f) => f.endsWith('.onnx'))
  .map((f) => path.basename(f, '.onnx')).sort();
const models = opt('--models', all.join(',')).split(',');

function quantize(model, extra, out) {
  const args = ['quantize', path.join(root, 'models', `${model}.onnx`),
    '--calib', 'fashion-mnist:train[0:1000]', '--test', test, '--abits', '8',
    '--granularity', granularity, '--threads', threads, '--quiet', '--json', '--out', out, ...extra];
  return JSON.parse(execFileSync(path.join(build, 'gammaq'), args, { encoding: 'utf8' }));
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gammaq-nuuq-'));
const head = ['model', 'float', 'uniform w2', ...levels.map((q) => `Q=${q}`)];
const rows = [];
for (const m of models) {
  const u2 = quantize(m, ['--wbits', '2'], path.join(tmp, `${m}-u2`));
  const cells = [m, (100 * u2.float.top1).toFixed(2), (100 * u2.quantized.top1).toFixed(2)];
  for (const q of levels) {
    const s = quantize(m, ['--wbits', '8', '--wlevels', String(q)], path.join(tmp, `${m}-q${q}`));
    const w = s.weight_storage;
    cells.push(`${(100 * s.quantized.top1).toFixed(2)} (${w.bits_stored.toFixed(2)} b, ` +
      `${(w.bytes / 1024).toFixed(0)} KiB of ${(w.float_bytes / 1024).toFixed(0)})`);
    process.stderr.write(`nuuq: ${m} Q=${q}: ${s.quantized.top1}\n`);
  }
  rows.push(cells);
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`commit ${gitCommit(root)}; a8, weights per ${granularity}, calibration ` +
  `fashion-mnist:train[0:1000], top-1 [%] on ${test}\n`);
console.log(`| ${head.join(' | ')} |`);
console.log(`|${head.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
