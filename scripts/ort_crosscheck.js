'use strict';
// Cross-checks gammaq's float engine against ONNX Runtime on whole datasets.
//   node scripts/ort_crosscheck.js GAMMAQ_BINARY MODEL.onnx... [--data fashion-mnist:test]
//        [--limit N] [--rel 1e-4]
// For each model: runs ORT (scripts/ort_eval.js) and `gammaq eval --logits`, then requires
// |gammaq - ort| <= rel * max(1, max_j |ort_j|) for every logit of every image, and the same
// top-1 class (first maximum) for every image. Prints one line per model; exits 1 on any
// disagreement, 77 (CTest's skip code) when ONNX Runtime is not installed.
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');
const common = require('./lib/common');

function argmax(a, off, n) {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[off + j] > a[off + best]) best = j;
  return best;
}

function main() {
  const args = process.argv.slice(2);
  let data = 'fashion-mnist:test', limit = null, rel = 1e-4;
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--data') data = args[++i];
    else if (args[i] === '--limit') limit = args[++i];
    else if (args[i] === '--rel') rel = Number(args[++i]);
    else positional.push(args[i]);
  }
  const [binary, ...models] = positional;
  if (!binary || models.length === 0) {
    console.error('usage: ort_crosscheck.js GAMMAQ_BINARY MODEL.onnx... [--data SPEC] [--limit N] [--rel R]');
    process.exit(2);
  }
  try {
    common.loadOrt();
  } catch (e) {
    console.log(`ort_crosscheck: ONNX Runtime not installed (${e.message.split('\n')[0]}); skipped`);
    process.exit(77);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gammaq-ort-'));
  let failed = false;
  for (const model of models) {
    const name = path.basename(model, '.onnx');
    const ortOut = path.join(tmp, name + '.ort.npy');
    const gqOut = path.join(tmp, name + '.gammaq.npy');
    const lim = limit ? ['--limit', limit] : [];
    const ortJson = JSON.parse(execFileSync(process.execPath,
      [path.join(__dirname, 'ort_eval.js'), model, '--data', data, '--logits', ortOut, '--json', ...lim],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const gqJson = JSON.parse(execFileSync(binary,
      ['eval', model, '--data', data, '--logits', gqOut, '--json', '--quiet', ...lim],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
    const a = common.readNpy(ortOut), b = common.readNpy(gqOut);
    const [n, classes] = a.shape;
    if (b.shape[0] !== n || b.shape[1] !== classes) {
      console.log(`${name}: shape ${b.shape} vs ORT ${a.shape}`);
      failed = true;
      continue;
    }
    let worst = 0, worstAt = -1, top1Diff = 0;
    for (let i = 0; i < n; i++) {
      let scale = 1;
      for (let j = 0; j < classes; j++) scale = Math.max(scale, Math.abs(a.data[i * classes + j]));
      for (let j = 0; j < classes; j++) {
        const e = Math.abs(a.data[i * classes + j] - b.data[i * classes + j]) / scale;
        if (!(e <= worst)) { worst = e; worstAt = i; }
      }
      if (argmax(a.data, i * classes, classes) !== argmax(b.data, i * classes, classes)) top1Diff++;
    }
    const ok = worst <= rel && top1Diff === 0 && ortJson.top1 === gqJson.top1;
    failed = failed || !ok;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${n} images, max relative logit error ${worst.toExponential(2)}` +
      ` (image ${worstAt}, bound ${rel}), top-1 differs on ${top1Diff} images;` +
      ` top-1 gammaq ${gqJson.top1} ORT ${ortJson.top1}`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

main();
