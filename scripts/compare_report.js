'use strict';
// `gammaq compare` against running each method alone (issue 8): one compare run of every
// method at 4, 6 and 8 bits on one model, wall time and peak memory, then `quantize --method M
// --calib-weights float` for every (method, width) -- what a user would run instead --
// timed one by one, checking each gives the compare row's top-1 (but ristretto's: alone it
// also uses eq. 8 for the weights). Appends to
// bench/results.json ("compare") and prints a Markdown line.
//   node scripts/compare_report.js [--model googlenet] [--bits 4,6,8] [--test SPEC]
//        [--threads 2] [--build build] [--no-write]
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');
const { gitCommit, cpuName, appendResults, opt } = require('./lib/bench');

const root = path.resolve(__dirname, '..');
const model = opt('--model', 'googlenet');
const bits = opt('--bits', '4,6,8');
const test = opt('--test', 'fashion-mnist:test[0:2000]');
const threads = opt('--threads', '2');
const build = path.resolve(root, opt('--build', 'build'));
const write = !process.argv.includes('--no-write');
const calib = 'fashion-mnist:train[0:1000]';
const bin = path.join(build, 'gammaq');
const onnx = path.join(root, 'models', `${model}.onnx`);

function timed(args) {
  const t0 = process.hrtime.bigint();
  const out = execFileSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, out };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gammaq-compare-'));
const c = timed(['compare', onnx, '--calib', calib, '--test', test, '--bits', bits,
  '--methods', 'all', '--threads', threads, '--quiet', '--out', path.join(tmp, 'cmp')]);
const cj = JSON.parse(fs.readFileSync(path.join(tmp, 'cmp', 'compare.json'), 'utf8'));
let alone = 0;
let same = true;
for (const row of cj.rows) {
  const r = timed(['quantize', onnx, '--calib', calib, '--test', test, '--method', row.method,
    '--wbits', String(row.bits), '--abits', String(row.bits), '--calib-weights', 'float',
    '--threads', threads, '--quiet', '--json', '--out', path.join(tmp, `${row.method}-${row.bits}`)]);
  alone += r.seconds;
  const top1 = JSON.parse(r.out).quantized.top1;
  // quantize --method ristretto also takes eq. 8's weights; compare keeps Algorithm 1's.
  if (row.method !== 'ristretto' && top1 !== row.top1) {
    same = false;
    process.stderr.write(`compare: ${row.method} w${row.bits}: ${top1} alone, ${row.top1} in compare\n`);
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
const entry = { date: new Date().toISOString(), commit: gitCommit(root), cpu: cpuName(),
  threads: Number(threads), model, bits, test, rows: cj.rows.length, passes: cj.passes,
  evaluations: cj.evaluations, compare_seconds: c.seconds, peak_rss_mib: cj.peak_rss_mib,
  alone_seconds: alone, speedup: alone / c.seconds, same_top1: same };
if (write) appendResults(root, 'compare', [entry]);
console.log(`| ${model} | ${entry.rows} | ${entry.passes} | ${entry.evaluations} | ` +
  `${c.seconds.toFixed(1)} | ${entry.peak_rss_mib.toFixed(0)} | ${alone.toFixed(1)} | ` +
  `${entry.speedup.toFixed(1)}x | ${same ? 'yes' : 'NO'} |`);
if (!same) process.exitCode = 1;
