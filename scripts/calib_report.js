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
const { gitCommit, cpuName, appendResults, opt } = require('./lib/bench');

const root = path.resolve(__dirname, '..');
const model = path.resolve(root, opt('--model', 'models/googlenet.onnx'));
const sizes = opt('--images', '1000,6400').split(',').map(Number);
const threads = Number(opt('--threads', String(os.cpus().length)));
const data = opt('--data', 'fashion-mnist:train');
const build = path.resolve(root, opt('--build', 'build'));
const write = !process.argv.includes('--no-write');

function main() {
  const commit = gitCommit(root);
  const cpu = cpuName();
  const entry = { date: new Date().toISOString(), commit, cpu, cores: os.cpus().length, threads,
    data, results: [] };
  for (const n of sizes) {
    const out = execFileSync(path.join(build, 'bench', 'calib_bench'),
      [model, data, String(n), String(threads)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const r = JSON.parse(out);
    entry.results.push(r);
    process.stderr.write(`calib: ${r.model} ${n} images: ${r.seconds.toFixed(1)} s, peak ${r.peak_rss_mib.toFixed(0)} MiB\n`);
  }
  if (write) appendResults(root, 'calibration', [entry]);
  console.log(`\n${cpu}, ${threads} thread(s), commit ${commit}; GGD default mode, w8a8, ${data}\n`);
  console.log('| model | images | seconds | images/s | calibrate s | choose s (incl. 2nd pass) | peak memory MiB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of entry.results) {
    console.log(`| ${r.model} | ${r.images} | ${r.seconds.toFixed(1)} | ${(r.images / r.seconds).toFixed(0)} | ` +
      `${r.seconds_calibrate.toFixed(1)} | ${r.seconds_choose.toFixed(1)} | ${r.peak_rss_mib.toFixed(0)} |`);
  }
}

main();
