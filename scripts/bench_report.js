'use strict';
// Float throughput of gammaq vs ONNX Runtime on every zoo model, measured in the same run,
// appended to bench/results.json and printed as a Markdown table (the README quotes it).
//   node scripts/bench_report.js [--threads 1,2] [--batch 64] [--seconds 3] [--repeats 3]
//        [--build build] [--no-write] [--models DIR --pairs 1:1,8:2 --key runs_real]
// --models DIR: its .onnx files instead of the zoo (e.g. scripts/coverage.py's 224x224
// torchvision exports); --pairs B:T,...: (batch, threads) configurations instead of
// --batch x --threads; --key: the bench/results.json list the runs are appended to.
// Each (model, threads) pair alternates gammaq and ORT `repeats` times and keeps the median
// of each, so slow drifts of the machine hit both alike. GFLOP/s counts 2 FLOP per MAC; the
// peak is measured by float_bench's FMA loop on the same threads.
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');
const { gitCommit, cpuName, appendResults, opt } = require('./lib/bench');

const root = path.resolve(__dirname, '..');

const pairsOpt = opt('--pairs', '');
const pairs = pairsOpt
  ? pairsOpt.split(',').map((p) => p.split(':').map(Number))
  : opt('--threads', '1,2').split(',').map((t) => [Number(opt('--batch', '64')), Number(t)]);
const modelsDir = path.resolve(opt('--models', path.join(root, 'models')));
const key = opt('--key', 'runs');
const seconds = Number(opt('--seconds', '3'));
const repeats = Number(opt('--repeats', '3'));
const build = path.resolve(root, opt('--build', 'build'));
const write = !process.argv.includes('--no-write');
const bench = path.join(build, 'bench', 'float_bench');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function gammaqRun(filter, threads, batch) {
  const out = execFileSync(bench, [`--threads=${threads}`, `--batch=${batch}`, `--models=${modelsDir}`,
    `--benchmark_filter=${filter}`, '--benchmark_format=json', `--benchmark_min_time=${seconds}`],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out).benchmarks[0];
}

function ortRun(model, threads, batch) {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'ort_bench.js'), model,
    '--threads', String(threads), '--batch', String(batch), '--seconds', String(seconds)],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out).images_per_s;
}

function main() {
  const models = fs.readdirSync(modelsDir).filter((f) => f.endsWith('.onnx')).sort();
  const commit = gitCommit(root);
  const runs = [];
  for (const [batch, threads] of pairs) {
    const peak = gammaqRun('BM_peak_fma_avx2', threads, batch)['GFLOP/s'];
    const entry = { date: new Date().toISOString(), commit, cpu: cpuName(), cores: os.cpus().length,
      threads, batch, seconds, repeats, peak_gflops: peak, models: {} };
    for (const file of models) {
      const name = path.basename(file, '.onnx');
      const g = [], o = [];
      let macs = 0;
      for (let r = 0; r < repeats; r++) {
        const b = gammaqRun(`^BM_engine_float_fast/${name}/`, threads, batch);
        g.push(b['images/s']);
        macs = b['MACs/image'];
        o.push(ortRun(path.join(modelsDir, file), threads, batch));
      }
      const gi = median(g), oi = median(o);
      const gflops = gi * 2 * macs / 1e9;
      entry.models[name] = { gammaq_images_per_s: gi, ort_images_per_s: oi, ratio: gi / oi,
        macs_per_image: macs, gammaq_gflops: gflops, peak_fraction: gflops / peak,
        gammaq_samples: g, ort_samples: o };
      process.stderr.write(`bench: ${name} threads ${threads}: gammaq ${gi.toFixed(0)}/s ORT ${oi.toFixed(0)}/s\n`);
    }
    runs.push(entry);
  }
  if (write) appendResults(root, key, runs);
  for (const e of runs) {
    console.log(`\n${e.cpu}, ${e.threads} thread(s), batch ${e.batch}, commit ${e.commit}; ` +
      `measured FMA peak ${e.peak_gflops.toFixed(1)} GFLOP/s\n`);
    console.log('| model | MACs/image | gammaq images/s | ORT images/s | gammaq / ORT | GFLOP/s | of peak |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const [name, m] of Object.entries(e.models)) {
      console.log(`| ${name} | ${(m.macs_per_image / 1e6).toFixed(2)} M | ${m.gammaq_images_per_s.toFixed(0)} | ` +
        `${m.ort_images_per_s.toFixed(0)} | ${m.ratio.toFixed(2)} | ${m.gammaq_gflops.toFixed(1)} | ` +
        `${(100 * m.peak_fraction).toFixed(0)}% |`);
    }
  }
}

main();
