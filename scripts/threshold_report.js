'use strict';
// Threshold quantizers with equiprobable bins at 4 bits on the zoo (issue 8's target): per
// model, two `gammaq compare` runs at --bits 4 with per-channel weights -- feature maps by
// ggd, threshold and threshold-emp crossed with weights by alg1, threshold-normal and
// threshold-empirical; then the threshold rows again with --threshold-lloyd -- and a
// Markdown summary of six fixed rows (uniform GGD with Algorithm 1 weights first), with
// top-1, mean feature-map SQNR and mean code entropy.
//   node scripts/threshold_report.js [--models googlenet,...] [--out DIR] [--build build]
//        [--threads 2] [--test fashion-mnist:test] [--reuse]
// --reuse: keep DIR/MODEL[-lloyd]/compare.json where it exists (summarise earlier runs).
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');
const { gitCommit, opt } = require('./lib/bench');

const root = path.resolve(__dirname, '..');
const build = path.resolve(root, opt('--build', 'build'));
const threads = opt('--threads', '2');
const test = opt('--test', 'fashion-mnist:test');
const out = path.resolve(opt('--out', fs.mkdtempSync(path.join(os.tmpdir(), 'gammaq-thr-'))));
const reuse = process.argv.includes('--reuse');
const all = fs.readdirSync(path.join(root, 'models')).filter((f) => f.endsWith('.onnx'))
  .map((f) => path.basename(f, '.onnx')).sort();
const models = opt('--models', all.join(',')).split(',');

function compare(model, methods, extra, dir) {
  const json = path.join(dir, 'compare.json');
  if (!(reuse && fs.existsSync(json))) {
    execFileSync(path.join(build, 'gammaq'), ['compare', path.join(root, 'models', `${model}.onnx`),
      '--calib', 'fashion-mnist:train[0:1000]', '--test', test, '--bits', '4',
      '--methods', methods, '--wmethods', 'alg1,threshold-normal,threshold-empirical',
      '--granularity', 'channel', '--threads', threads, '--quiet', '--out', dir, ...extra],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return JSON.parse(fs.readFileSync(json, 'utf8'));
}

const pct = (x) => (100 * x).toFixed(2);
// Fixed rows (no choosing the best on the test set): [label, run, FM method, weight rule].
const columns = [
  ['GGD, uniform 4-bit weights', 'eq', 'ggd', 'alg1'],
  ['threshold FM (normal), uniform weights', 'eq', 'threshold', 'alg1'],
  ['threshold-emp FM, uniform weights', 'eq', 'threshold-emp', 'alg1'],
  ['GGD FM, threshold-empirical weights', 'eq', 'ggd', 'threshold-empirical'],
  ['threshold FM + Lloyd, uniform weights', 'll', 'threshold', 'alg1'],
  ['threshold FM and threshold-normal weights, both + Lloyd', 'll', 'threshold', 'threshold-normal'],
];

const lines = [];
for (const m of models) {
  const runs = {
    eq: compare(m, 'ggd,threshold,threshold-emp', [], path.join(out, m)),
    ll: compare(m, 'threshold,threshold-emp', ['--threshold-lloyd'], path.join(out, `${m}-lloyd`)),
  };
  const cells = columns.map(([, run, method, wmethod]) => {
    const r = runs[run].rows.find((x) => x.method === method && x.wmethod === wmethod);
    return `${pct(r.top1)} (${r.fm_sqnr_mean_db.toFixed(1)} dB, ` +
      `${r.fm_code_entropy_mean_bits.toFixed(2)} b)`;
  });
  lines.push(`| ${m} | ${pct(runs.eq.float.top1)} | ${cells.join(' | ')} |`);
  process.stderr.write(`threshold: ${m} done\n`);
}
console.log(`commit ${gitCommit(root)}; w4a4, weights per channel, calibration ` +
  `fashion-mnist:train[0:1000], top-1 [%] on ${test} (mean feature-map SQNR, mean code ` +
  `entropy of a feature map); compare outputs in ${out}\n`);
console.log(`| model | float | ${columns.map((c) => c[0]).join(' | ')} |`);
console.log(`|---|---|${columns.map(() => '---').join('|')}|`);
for (const l of lines) console.log(l);
