'use strict';
// Checks gammaq's QDQ export in ONNX Runtime: for each model, quantizes it, exports the QDQ
// ONNX model (gammaq export --format qdq), runs it in ONNX Runtime and gammaq's own fixed-point
// simulation (gammaq eval --quant) on the same images, and compares.
//   node scripts/qdq_check.js GAMMAQ_BINARY MODEL.onnx... [--bits 8] [--granularity layer]
//        [--opset 13] [--weight-type int8|uint8] [--calib 'fashion-mnist:train[0:1000]'] [--data fashion-mnist:test]
//        [--limit N] [--max-gap 0.1] [--json OUT.json]
// Prints one line per model: top-1 of both, the gap in points, the images whose top-1 class
// differs, the share of logits that are equal and the largest logit difference. Exits 1 when a
// gap exceeds --max-gap (points; "none" reports only), 77 (CTest's skip code) when ONNX
// Runtime is not installed.
const path = require('path');
const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');
const common = require('./lib/common');
const { opt } = require('./lib/bench');

function argmax(a, off, n) {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[off + j] > a[off + best]) best = j;
  return best;
}

function run(file, args) {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

function main() {
  const args = process.argv.slice(2);
  const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
  const bits = opt('--bits', '8');
  const granularity = opt('--granularity', 'layer');
  const opset = opt('--opset', '13');
  const weightType = opt('--weight-type', 'int8');
  const calib = opt('--calib', 'fashion-mnist:train[0:1000]');
  const data = opt('--data', 'fashion-mnist:test');
  const limit = opt('--limit', null);
  const maxGapArg = opt('--max-gap', '0.1');
  const maxGap = maxGapArg === 'none' ? Infinity : Number(maxGapArg);
  const jsonOut = opt('--json', null);
  const [binary, ...models] = positional;
  if (!binary || models.length === 0 || !(maxGap >= 0)) {
    console.error('usage: qdq_check.js GAMMAQ_BINARY MODEL.onnx... [--bits 8] [--granularity layer] ' +
      '[--opset 13] [--weight-type int8|uint8] [--calib SPEC] [--data SPEC] [--limit N] [--max-gap 0.1|none] [--json OUT.json]');
    process.exit(2);
  }
  try {
    common.loadOrt();
  } catch (e) {
    console.log(`qdq_check: ONNX Runtime not installed (${e.message.split('\n')[0]}); skipped`);
    process.exit(77);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gammaq-qdq-'));
  const lim = limit ? ['--limit', limit] : [];
  const rows = [];
  let failed = false;
  for (const model of models) {
    const name = path.basename(model, '.onnx');
    const dir = path.join(tmp, name);
    const qdq = path.join(dir, 'qdq.onnx');
    run(binary, ['quantize', model, '--calib', calib, '--wbits', bits, '--abits', bits,
      '--granularity', granularity, '--out', dir, '--quiet']);
    run(binary, ['export', dir, '--format', 'qdq', '--opset', opset, '--weight-type', weightType,
      '-o', qdq]);
    const ortOut = path.join(dir, 'ort.npy'), gqOut = path.join(dir, 'gammaq.npy');
    const ortJson = JSON.parse(run(process.execPath, [path.join(__dirname, 'ort_eval.js'), qdq,
      '--data', data, '--logits', ortOut, '--json', ...lim]));
    const gqJson = JSON.parse(run(binary, ['eval', path.join(dir, 'model.onnx'), '--quant',
      path.join(dir, 'quant.json'), '--data', data, '--logits', gqOut, '--json', '--quiet', ...lim]));
    const a = common.readNpy(ortOut), b = common.readNpy(gqOut);
    const [n, classes] = a.shape;
    let equal = 0, worst = 0, top1Diff = 0;
    for (let i = 0; i < n * classes; i++) {
      const d = Math.abs(a.data[i] - b.data[i]);
      if (d === 0) equal++;
      worst = Math.max(worst, d);
    }
    for (let i = 0; i < n; i++)
      if (argmax(a.data, i * classes, classes) !== argmax(b.data, i * classes, classes)) top1Diff++;
    const gap = 100 * Math.abs(ortJson.top1 - gqJson.top1);
    const ok = gap <= maxGap + 1e-9;
    failed = failed || !ok;
    const row = {
      model: name, bits: Number(bits), granularity, opset: Number(opset), weight_type: weightType,
      images: n,
      top1_gammaq: gqJson.top1, top1_ort: ortJson.top1, gap_points: gap, top1_differs: top1Diff,
      logits_equal: equal / (n * classes), max_logit_diff: worst,
      ort_images_per_s: ortJson.images_per_s,
    };
    rows.push(row);
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} w${bits}a${bits} ${granularity} opset ${opset} ${weightType} weights: ` +
      `top-1 gammaq ${(100 * gqJson.top1).toFixed(2)} ORT ${(100 * ortJson.top1).toFixed(2)} ` +
      `(gap ${gap.toFixed(2)}, bound ${maxGapArg}); top-1 class differs on ${top1Diff}/${n} images; ` +
      `${(100 * row.logits_equal).toFixed(2)}% of logits equal, largest difference ${worst.toPrecision(3)}`);
  }
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 1) + '\n');
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

main();
