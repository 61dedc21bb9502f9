'use strict';
// Shared pieces of the benchmark report scripts (bench_report, calib_report, tune_report,
// int_report): flags, the machine and commit a result belongs to, and appending to
// bench/results.json.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

function gitCommit(root) {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch (e) {
    return 'unknown';  // not a git checkout
  }
}

function cpuName() {
  const m = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/);
  return m ? m[1].trim() : 'unknown';
}

// The value after command-line flag `name`, or `def` when the flag is absent.
function opt(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
}

// Appends `items` to the list `key` of bench/results.json (written atomically).
function appendResults(root, key, items) {
  const file = path.join(root, 'bench', 'results.json');
  const all = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {
    about: 'Appended by scripts/bench_report.js (runs), calib_report.js (calibration) and ' +
      'tune_report.js (tuning).',
  };
  (all[key] = all[key] || []).push(...items);
  fs.writeFileSync(file + '.tmp', JSON.stringify(all, null, 1) + '\n');
  fs.renameSync(file + '.tmp', file);
}

module.exports = { gitCommit, cpuName, appendResults, opt };
