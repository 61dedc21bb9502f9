'use strict';
// Issue 9's measurements of `gammaq sensitivity` and `gammaq report` on the zoo:
// - per model at --bits 4: the float and all-4-bit validation top-1, the three tensors that
//   cost most alone, and the suggestion (keep k tensors at 8 bits to stay within 1 point):
//   predicted and measured loss on the validation images, and the loss on the test set;
// - on --timing-model (GoogLeNet): the sensitivity run with and without the prefix cache
//   (same ranking, asserted), and `quantize --report` / `report DIR`: time and page size.
// Timings go to bench/results.json ("sensitivity", "report"); the Markdown goes to stdout.
//   node scripts/sensitivity_report.js [--models a,b] [--out DIR] [--build build] [--threads 2]
//        [--test fashion-mnist:test] [--timing-model googlenet] [--no-record]
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');
const { gitCommit, cpuName, appendResults, opt } = require('./lib/bench');

const root = path.resolve(__dirname, '..');
const gammaq = path.join(path.resolve(root, opt('--build', 'build')), 'gammaq');
const threads = opt('--threads', '2');
const test = opt('--test', 'fashion-mnist:test');
const calib = 'fashion-mnist:train[0:1000]';
const val = 'fashion-mnist:train[59000:60000]';
const out = path.resolve(opt('--out', fs.mkdtempSync(path.join(os.tmpdir(), 'gammaq-sens-'))));
const all = fs.readdirSync(path.join(root, 'models')).filter((f) => f.endsWith('.onnx'))
  .map((f) => path.basename(f, '.onnx')).sort();
const models = opt('--models', all.join(',')).split(',');
const timingModel = opt('--timing-model', 'googlenet');
const record = !process.argv.includes('--no-record');
const modelPath = (m) => path.join(root, 'models', `${m}.onnx`);

function run(args) {
  const t0 = process.hrtime.bigint();
  const stdout = execFileSync(gammaq, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26 });
  return { stdout, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

function sensitivity(model, dir, extra = []) {
  const r = run(['sensitivity', modelPath(model), '--calib', calib, '--val', val, '--test', test,
    '--bits', '4', '--keep-bits', '8', '--max-loss', '1', '--threads', threads, '--quiet',
    '--json', '--out', dir, ...extra]);
  return { json: JSON.parse(r.stdout), seconds: r.seconds };
}

const pct = (x) => (100 * x).toFixed(2);
const lines = ['| model | float val top-1 | all 4-bit | costliest alone (top-1 points lost) | kept at 8 bits | predicted loss | measured loss (val) | loss on test |',
  '|---|---:|---:|---|---:|---:|---:|---:|'];
for (const m of models) {
  const { json: j } = sensitivity(m, path.join(out, m));
  const worst = j.layers.slice(0, 3).map((l) => `${l.tensor} \`${l.name}\` ${(100 * (j.float_top1 - l.top1)).toFixed(1)}`);
  const s = j.suggestion;
  lines.push(`| ${m} | ${pct(j.float_top1)} | ${pct(j.all_top1)} | ${worst.join('; ')} | ` +
    `${s.keep.length} of ${j.layers.length} | ${s.predicted_loss.toFixed(2)} | ` +
    `${s.measured_loss.toFixed(2)}${s.met ? '' : ' (not met)'} | ${s.test_loss.toFixed(2)} |`);
}
console.log(`Sensitivity at 4 bits (Algorithm 1 weights and GGD feature maps, per layer; ` +
  `calibration ${calib}, validation ${val}, test ${test}; commit ${gitCommit(root)}):\n`);
console.log(lines.join('\n'));

// Prefix cache: the same ranking with and without it.
const dir = path.join(out, `${timingModel}-timing`);
const cached = sensitivity(timingModel, `${dir}-cache`);
const plain = sensitivity(timingModel, `${dir}-nocache`, ['--no-cache']);
const same = JSON.stringify(cached.json.layers) === JSON.stringify(plain.json.layers);
if (!same) throw new Error('sensitivity: the ranking differs with and without the prefix cache');
const rank = (j) => j.seconds.rank;
console.log(`\n${timingModel} sensitivity (${cached.json.layers.length} candidates, ` +
  `${cached.json.images} validation images): ranking ${rank(cached.json).toFixed(1)} s with the ` +
  `prefix cache, ${rank(plain.json).toFixed(1)} s without (${(rank(plain.json) / rank(cached.json)).toFixed(2)}x; ` +
  `candidates re-run ${(100 * cached.json.rerun_mac_fraction).toFixed(1)}% of the MACs on average); ` +
  `whole command ${cached.seconds.toFixed(1)} s vs ${plain.seconds.toFixed(1)} s; same ranking.`);

// The report: quantize --report (diagnostics on 200 test images), then report DIR alone.
const q = path.join(out, `${timingModel}-report`);
fs.rmSync(q, { recursive: true, force: true });
const quantize = run(['quantize', modelPath(timingModel), '--calib', calib, '--test', test,
  '--wbits', '4', '--abits', '4', '--threads', threads, '--quiet', '--out', q]);
const withReport = run(['quantize', modelPath(timingModel), '--calib', calib, '--test', test,
  '--wbits', '4', '--abits', '4', '--threads', threads, '--quiet', '--report', '--out', q]);
const redraw = run(['report', q, '--quiet']);
const bytes = fs.statSync(path.join(q, 'report.html')).size;
const figures = (fs.readFileSync(path.join(q, 'report.html'), 'utf8').match(/class="gq-figure"/g) || []).length;
console.log(`\n${timingModel} report: quantize ${quantize.seconds.toFixed(1)} s, with --report ` +
  `${withReport.seconds.toFixed(1)} s (+${(withReport.seconds - quantize.seconds).toFixed(1)} s for ` +
  `diagnostics on 200 images and the page); report DIR alone ${redraw.seconds.toFixed(2)} s; ` +
  `report.html ${(bytes / 1024).toFixed(0)} KiB, ${figures} figures.`);

if (record) {
  const base = { date: new Date().toISOString(), commit: gitCommit(root), cpu: cpuName(),
    threads: Number(threads), model: timingModel };
  appendResults(root, 'sensitivity', [{ ...base, bits: 4, candidates: cached.json.layers.length,
    val_images: cached.json.images, rank_seconds_cache: rank(cached.json),
    rank_seconds_no_cache: rank(plain.json), speedup: rank(plain.json) / rank(cached.json),
    rerun_mac_fraction: cached.json.rerun_mac_fraction, command_seconds_cache: cached.seconds,
    command_seconds_no_cache: plain.seconds }]);
  appendResults(root, 'report', [{ ...base, quantize_seconds: quantize.seconds,
    quantize_report_seconds: withReport.seconds, report_dir_seconds: redraw.seconds,
    report_bytes: bytes, figures }]);
}
