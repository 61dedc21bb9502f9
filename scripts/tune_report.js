'use strict';
// Tuning time with and without the cache on every zoo model: `gammaq quantize --tune`
// (default: FM-BFT, w6a6, 500 validation images), with the whole cache (prefix cache and score
// memo), with the prefix cache alone (--no-memo) and with --no-cache, checking that all three
// write the same quant.json. Also prints the MAC-bound ceiling of an exact prefix cache (1 /
// rerun_mac_fraction of summary.json). Appends to bench/results.json ("tuning") and prints a
// Markdown table.
//   node scripts/tune_report.js [--tune a] [--bits 6] [--val-limit 500] [--threads 1]
//        [--models googlenet,...] [--build build] [--no-write]
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');
const { gitCommit, cpuName, appendResults, opt } = require('./lib/bench');

const root = path.resolve(__dirname, '..');
const tune = opt('--tune', 'a');
const bits = opt('--bits', '6');
const valLimit = opt('--val-limit', '500');
const threads = opt('--threads', '1');
const build = path.resolve(root, opt('--build', 'build'));
const write = !process.argv.includes('--no-write');
const all = fs.readdirSync(path.join(root, 'models')).filter((f) => f.endsWith('.onnx'))
  .map((f) => path.basename(f, '.onnx')).sort();
const models = opt('--models', all.join(',')).split(',');

function run(model, mode, out) {
  const args = ['quantize', path.join(root, 'models', `${model}.onnx`),
    '--calib', 'fashion-mnist:train[0:1000]', '--val', 'fashion-mnist:train[50000:51000]',
    '--val-limit', valLimit, '--wbits', bits, '--abits', bits, '--tune', tune,
    '--threads', threads, '--quiet', '--out', out];
  if (mode === 'none') args.push('--no-cache');
  if (mode === 'prefix') args.push('--no-memo');
  execFileSync(path.join(build, 'gammaq'), args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
  return { seconds: s.tuning.reduce((a, t) => a + t.seconds, 0),
    evaluations: s.tuning.reduce((a, t) => a + t.evaluations, 0),
    memo_hits: s.tuning.reduce((a, t) => a + t.memo_hits, 0),
    ceiling: s.tuning.reduce((a, t) => a + t.evaluations + t.memo_hits, 0) /
      s.tuning.reduce((a, t) => a + (t.evaluations + t.memo_hits) * t.rerun_mac_fraction, 0),
    cache_mib: Math.max(...s.tuning.map((t) => t.cache_mib)),
    plan: fs.readFileSync(path.join(out, 'quant.json'), 'utf8') };
}

function main() {
  const commit = gitCommit(root);
  const cpu = cpuName();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gammaq-tune-'));
  const entry = { date: new Date().toISOString(), commit, cpu, threads: Number(threads), tune,
    bits: Number(bits), validation_images: Number(valLimit), models: {} };
  for (const m of models) {
    const c = run(m, 'all', path.join(tmp, `${m}-cache`));
    const p = run(m, 'prefix', path.join(tmp, `${m}-prefix`));
    const n = run(m, 'none', path.join(tmp, `${m}-nocache`));
    const same = c.plan === n.plan && p.plan === n.plan;
    entry.models[m] = { cached_seconds: c.seconds, prefix_only_seconds: p.seconds,
      uncached_seconds: n.seconds, speedup: n.seconds / c.seconds,
      prefix_speedup: n.seconds / p.seconds, mac_ceiling: p.ceiling,
      evaluations: c.evaluations, memo_hits: c.memo_hits, cache_mib: c.cache_mib,
      identical_plans: same };
    process.stderr.write(`tune: ${m}: ${c.seconds.toFixed(1)} s cached, ${p.seconds.toFixed(1)} s ` +
      `prefix only, ${n.seconds.toFixed(1)} s not, ${same ? 'same plan' : 'PLANS DIFFER'}\n`);
    if (!same) process.exitCode = 1;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  if (write) appendResults(root, 'tuning', [entry]);
  console.log(`\n${cpu}, ${threads} thread(s), commit ${commit}; --tune ${tune}, w${bits}a${bits}, ` +
    `${valLimit} validation images\n`);
  console.log('| model | candidates | memo hits | with cache s | prefix only s | without s | ' +
    'speed-up | prefix only | MAC ceiling | cache MiB | same plan |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const [m, r] of Object.entries(entry.models)) {
    console.log(`| ${m} | ${r.evaluations + r.memo_hits} | ${r.memo_hits} | ` +
      `${r.cached_seconds.toFixed(1)} | ${r.prefix_only_seconds.toFixed(1)} | ` +
      `${r.uncached_seconds.toFixed(1)} | ${r.speedup.toFixed(2)}x | ${r.prefix_speedup.toFixed(2)}x | ` +
      `${r.mac_ceiling.toFixed(2)}x | ${r.cache_mib.toFixed(0)} | ${r.identical_plans ? 'yes' : 'NO'} |`);
  }
}

main();
