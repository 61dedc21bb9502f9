'use strict';
// Calibration + choosing time and peak memory of the quantize pipeline (GGD, default mode,
// w8a8) for a model at several calibration-set sizes, each in its own process so peak memory
// is per size. Appends to bench/results.json ("calibration") and prints a Markdown table.
//   node scripts/calib_report.js [--model models/googlenet.onnx] [--images 1000,6400]
//        [--threads 2] [--data fashion-mnist:train] [--build build] [--no-write]
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
function opt(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
}
const model = path.resolve(root, opt('--model', 'models/googlenet.onnx'));
const sizes = opt('--images', '1000,6400').split(',').map(Number);
const threads = Number(opt('--threads', String(os.cpus().length)));
const data = opt('--data', 'fashion-mnist:train');
const build = path.resolve(root, opt('--build', 'build'));
const write = !process.argv.includes('--no-write');

function main() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch (e) { /* not a git checkout */ }
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [0, 'unknown'])[1].trim();
  const entry = { date: new Date().toISOString(), commit, cpu, cores: os.cpus().length, threads,
    data, results: [] };
  for (const n of sizes) {
    const out = execFileSync(path.join(build, 'bench', 'calib_bench'),
      [model, data, String(n), String(threads)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const r = JSON.parse(out);
    entry.results.push(r);
    process.stderr.write(`calib: ${r.model} ${n} images: ${r.seconds.toFixed(1)} s, peak ${r.peak_rss_mib.toFixed(0)} MiB\n`);
  }
  if (write) {
    const file = path.join(root, 'bench', 'results.json');
    const all = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { runs: [] };
    (all.calibration = all.calibration || []).push(entry);
    fs.writeFileSync(file + '.tmp', JSON.stringify(all, null, 1) + '\n');
    fs.renameSync(file + '.tmp', file);
  }
  console.log(`\n${cpu}, ${threads} thread(s), commit ${commit}; GGD default mode, w8a8, ${data}\n`);
  console.log('| model | images | seconds | images/s | calibrate s | choose s (incl. 2nd pass) | peak memory MiB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of entry.results) {
    console.log(`| ${r.model} | ${r.images} | ${r.seconds.toFixed(1)} | ${(r.images / r.seconds).toFixed(0)} | ` +
      `${r.seconds_calibrate.toFixed(1)} | ${r.seconds_choose.toFixed(1)} | ${r.peak_rss_mib.toFixed(0)} |`);
  }
}

main();
