'use strict';
// Shared helpers for the gammaq ONNX Runtime cross-check scripts:
// CLI errors, ONNX metadata_props reader, IDX/NPY I/O, preprocessing,
// ORT session creation and top-k scoring. No dependencies besides
// onnxruntime-node (loaded lazily by loadOrt()).

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');

// ---------------------------------------------------------------- errors

class UsageError extends Error {
  // where: file or option the error is about (printed as "prog: error: where: msg")
  constructor(where, message) {
    super(message);
    this.where = where;
  }
}

function fail(where, message) {
  throw new UsageError(where, message);
}

// Runs main(); on failure prints one line "prog: error: [where: ]msg" and exits 2.
function runMain(prog, main) {
  Promise.resolve()
    .then(main)
    .catch((err) => {
      let msg;
      if (err instanceof UsageError) {
        msg = err.where ? `${err.where}: ${err.message}` : err.message;
      } else {
        msg = String((err && err.message) || err).split('\n')[0];
        if (process.env.GAMMAQ_DEBUG) process.stderr.write(`${err && err.stack}\n`);
      }
      process.stderr.write(`${prog}: error: ${msg}\n`);
      process.exit(2);
    });
}

// ---------------------------------------------------------------- options

// Minimal argv parser. spec: { '--name': 'value' | 'flag' }.
// Returns { positional: [...], opts: { name: value|true } }.
function parseArgs(argv, spec) {
  const positional = [];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '--') {
      positional.push(a);
      continue;
    }
    let value;
    const eq = a.indexOf('=');
    if (eq >= 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const kind = spec[a];
    if (!kind) fail(a, 'unknown option');
    const key = a.slice(2);
    if (kind === 'flag') {
      if (value !== undefined) fail(a, 'takes no value');
      opts[key] = true;
    } else {
      if (value === undefined) {
        if (i + 1 >= argv.length) fail(a, 'missing value');
        value = argv[++i];
      }
      opts[key] = value;
    }
  }
  return { positional, opts };
}

function parseIntOpt(name, value, def, min) {
  if (value === undefined) return def;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    fail(name, `expected an integer >= ${min}, got '${value}'`);
  }
  return Number(value);
}

function parseNumOpt(name, value, def) {
  if (value === undefined) return def;
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || v <= 0) fail(name, `expected a positive number, got '${value}'`);
  return v;
}

function requireFile(file) {
  let st;
  try {
    st = fs.statSync(file);
  } catch (e) {
    fail(file, e.code === 'ENOENT' ? 'no such file' : e.message);
  }
  if (!st.isFile()) fail(file, 'not a regular file');
}

// Fails early when the directory that should receive file does not exist.
function requireWritableDir(file) {
  const dir = path.dirname(path.resolve(file));
  try {
    if (!fs.statSync(dir).isDirectory()) fail(file, `${dir} is not a directory`);
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    fail(file, e.code === 'ENOENT' ? `directory ${dir} does not exist` : `cannot write to ${dir}: ${e.code || e.message}`);
  }
}

function readFileOrFail(file) {
  requireFile(file);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    fail(file, e.message);
  }
}

// ---------------------------------------------------------------- ORT

let ortModule = null;
function loadOrt() {
  if (ortModule) return ortModule;
  try {
    ortModule = require('onnxruntime-node');
  } catch (e) {
    fail('onnxruntime-node', `cannot load (${String(e.message).split('\n')[0]}); run scripts/setup_ort.sh`);
  }
  return ortModule;
}

function ortVersion() {
  const ort = loadOrt();
  return (ort.env && ort.env.versions && ort.env.versions.node) || require('onnxruntime-node/package.json').version;
}

async function createSession(modelPath, threads, optimization = 'all') {
  const ort = loadOrt();
  requireFile(modelPath);
  try {
    return await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: optimization,
      executionMode: 'sequential',
    });
  } catch (e) {
    fail(modelPath, `onnxruntime cannot load model: ${String(e.message).split('\n')[0]}`);
  }
}

// Picks the "input"/"logits" names (falling back to the first input/output)
// and the model's [C, H, W] where the input shape states them (null otherwise).
function sessionIO(session, modelPath) {
  const inputName = session.inputNames.includes('input') ? 'input' : session.inputNames[0];
  const outputName = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0];
  let chw = [null, null, null];
  const meta = (session.inputMetadata || []).find((m) => m.name === inputName);
  if (meta && meta.isTensor) {
    if (meta.type !== 'float32') fail(modelPath, `input '${inputName}' has type ${meta.type}, expected float32`);
    if (meta.shape.length !== 4) fail(modelPath, `input '${inputName}' has rank ${meta.shape.length}, expected 4 (NCHW)`);
    chw = meta.shape.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : null));
  }
  return { inputName, outputName, chw };
}

// ---------------------------------------------------------------- ONNX metadata_props

// Reads a protobuf varint at buf[pos]; returns [value, newPos]. Values up to 2^53.
function readVarint(buf, pos, file) {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) fail(file, 'truncated protobuf varint');
    const b = buf[pos++];
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [result, pos];
    mul *= 128;
  }
  fail(file, 'malformed protobuf varint');
}

// Calls fn(fieldNumber, wireType, value) for each field of the message in
// buf[start, end). value: number for varints, Buffer (subarray) for length-delimited.
function walkProto(buf, start, end, file, fn) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = readVarint(buf, pos, file);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos, file);
      fn(field, wire, v);
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos, file);
      if (pos + len > end) fail(file, 'truncated protobuf field (not an ONNX model?)');
      fn(field, wire, buf.subarray(pos, pos + len));
      pos += len;
    } else if (wire === 5) {
      pos += 4;
    } else {
      fail(file, `unsupported protobuf wire type ${wire} (not an ONNX model?)`);
    }
    if (pos > end) fail(file, 'truncated protobuf message (not an ONNX model?)');
  }
}

// ModelProto.metadata_props = 14 (repeated StringStringEntryProto {key = 1, value = 2}).
function readOnnxMetadata(modelPath) {
  const buf = readFileOrFail(modelPath);
  const props = {};
  walkProto(buf, 0, buf.length, modelPath, (field, wire, value) => {
    if (field !== 14 || wire !== 2) return;
    let k = '';
    let v = '';
    walkProto(value, 0, value.length, modelPath, (f, w, val) => {
      if (w !== 2) return;
      if (f === 1) k = val.toString('utf8');
      else if (f === 2) v = val.toString('utf8');
    });
    props[k] = v;
  });
  return props;
}

// ---------------------------------------------------------------- preprocessing

const DEFAULT_PREPROCESS = Object.freeze({
  scale: 0.00392156862745098,
  mean: [0.286],
  std: [0.353],
  channels: 'gray',
  size: [28, 28],
});

const CHANNELS = { gray: 1, rgb: 3, bgr: 3 };

// Returns { pre, source } where source is 'metadata' or 'default'.
// Prints a note on stderr when the model carries no gammaq.preprocess.
function modelPreprocess(modelPath, prog) {
  const props = readOnnxMetadata(modelPath);
  const raw = props['gammaq.preprocess'];
  if (raw === undefined) {
    process.stderr.write(
      `${prog}: note: ${modelPath}: no gammaq.preprocess metadata; using default ${JSON.stringify(DEFAULT_PREPROCESS)}\n`,
    );
    return { pre: DEFAULT_PREPROCESS, source: 'default' };
  }
  let p;
  try {
    p = JSON.parse(raw);
  } catch (e) {
    fail(modelPath, `gammaq.preprocess is not valid JSON: ${e.message}`);
  }
  const bad = (msg) => fail(modelPath, `gammaq.preprocess: ${msg}`);
  if (p === null || typeof p !== 'object') bad('not a JSON object');
  const pre = {
    scale: p.scale === undefined ? 1 : p.scale,
    mean: p.mean === undefined ? [0] : p.mean,
    std: p.std === undefined ? [1] : p.std,
    channels: p.channels === undefined ? 'gray' : p.channels,
    size: p.size === undefined ? [28, 28] : p.size,
  };
  if (typeof pre.scale !== 'number' || !Number.isFinite(pre.scale)) bad('"scale" must be a number');
  if (!(pre.channels in CHANNELS)) bad(`"channels" must be one of ${Object.keys(CHANNELS).join('/')}`);
  const nc = CHANNELS[pre.channels];
  for (const k of ['mean', 'std']) {
    if (typeof pre[k] === 'number') pre[k] = [pre[k]];
    if (!Array.isArray(pre[k]) || !pre[k].every((x) => typeof x === 'number' && Number.isFinite(x))) {
      bad(`"${k}" must be a list of numbers`);
    }
    if (pre[k].length !== 1 && pre[k].length !== nc) bad(`"${k}" must have 1 or ${nc} entries`);
  }
  if (pre.std.some((s) => s === 0)) bad('"std" must be non-zero');
  if (!Array.isArray(pre.size) || pre.size.length !== 2 || !pre.size.every((x) => Number.isInteger(x) && x > 0)) {
    bad('"size" must be [height, width]');
  }
  return { pre, source: 'metadata' };
}

// Writes the preprocessed images [first, first+n) of a uint8 [N, H, W] array
// into out (Float32Array of n*C*H*W), gray replicated to C channels.
// Arithmetic in double, rounded once to float32: x = (pixel*scale - mean[c]) / std[c].
function preprocessInto(out, pixels, first, n, hw, pre) {
  const nc = CHANNELS[pre.channels];
  const mean = [];
  const std = [];
  for (let c = 0; c < nc; c++) {
    mean.push(pre.mean[pre.mean.length === 1 ? 0 : c]);
    std.push(pre.std[pre.std.length === 1 ? 0 : c]);
  }
  // 256-entry lookup table per channel: identical result, much faster.
  const lut = [];
  for (let c = 0; c < nc; c++) {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v * pre.scale - mean[c]) / std[c];
    lut.push(t);
  }
  for (let i = 0; i < n; i++) {
    const src = (first + i) * hw;
    for (let c = 0; c < nc; c++) {
      const t = lut[c];
      const dst = (i * nc + c) * hw;
      for (let j = 0; j < hw; j++) out[dst + j] = t[pixels[src + j]];
    }
  }
}

// ---------------------------------------------------------------- IDX

const FASHION_MNIST_DIR = process.env.GAMMAQ_FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';

function readIdx(file, expectDims) {
  const gz = readFileOrFail(file);
  let buf;
  try {
    buf = file.endsWith('.gz') ? zlib.gunzipSync(gz) : gz;
  } catch (e) {
    fail(file, `cannot gunzip: ${e.message}`);
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) fail(file, 'not an IDX file (bad magic)');
  if (buf[2] !== 0x08) fail(file, `IDX element type 0x${buf[2].toString(16)} is not unsigned byte`);
  const ndim = buf[3];
  if (ndim !== expectDims) fail(file, `IDX file has ${ndim} dims, expected ${expectDims}`);
  if (buf.length < 4 + 4 * ndim) fail(file, 'truncated IDX header');
  const dims = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const off = 4 + 4 * ndim;
  if (buf.length !== off + count) fail(file, `IDX data is ${buf.length - off} bytes, header says ${count}`);
  return { dims, data: buf.subarray(off) };
}

// split: 'test' | 'train'. Returns { images: Uint8Array, labels: Uint8Array, count, h, w }.
function loadFashionMnist(split) {
  const prefix = split === 'test' ? 't10k' : 'train';
  const imgFile = path.join(FASHION_MNIST_DIR, `${prefix}-images-idx3-ubyte.gz`);
  const lblFile = path.join(FASHION_MNIST_DIR, `${prefix}-labels-idx1-ubyte.gz`);
  const img = readIdx(imgFile, 3);
  const lbl = readIdx(lblFile, 1);
  if (img.dims[0] !== lbl.dims[0]) {
    fail(lblFile, `${lbl.dims[0]} labels for ${img.dims[0]} images in ${imgFile}`);
  }
  return { images: img.data, labels: lbl.data, count: img.dims[0], h: img.dims[1], w: img.dims[2] };
}

// ---------------------------------------------------------------- NPY

const NPY_DTYPES = {
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  u1: Uint8Array,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
};

// Reads an NPY file (versions 1-3, little-endian, C order).
// Returns { descr: 'f4'|..., shape: [...], data: TypedArray }.
function readNpy(file) {
  const buf = readFileOrFail(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(file, 'not an NPY file (bad magic)');
  const major = buf[6];
  let hlen;
  let hoff;
  if (major === 1) {
    hlen = buf.readUInt16LE(8);
    hoff = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail(file, 'truncated NPY header');
    hlen = buf.readUInt32LE(8);
    hoff = 12;
  } else {
    fail(file, `unsupported NPY version ${major}.${buf[7]}`);
  }
  if (hoff + hlen > buf.length) fail(file, 'truncated NPY header');
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', hoff, hoff + hlen);
  const descrM = /'descr'\s*:\s*'([<>|=])([a-z]\d+)'/.exec(header);
  const fortranM = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descrM || !fortranM || !shapeM) fail(file, `cannot parse NPY header: ${header.trim()}`);
  const [, order, descr] = descrM;
  const Ctor = NPY_DTYPES[descr];
  if (!Ctor) fail(file, `unsupported NPY dtype '${order}${descr}'`);
  if (order === '>' && Ctor.BYTES_PER_ELEMENT > 1) fail(file, 'big-endian NPY data is not supported');
  if (fortranM[1] === 'True') fail(file, 'Fortran-order NPY data is not supported');
  const shape = shapeM[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(file, `bad NPY shape (${shapeM[1]})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataOff = hoff + hlen;
  const nbytes = count * Ctor.BYTES_PER_ELEMENT;
  if (buf.length - dataOff !== nbytes) {
    fail(file, `NPY data is ${buf.length - dataOff} bytes, shape (${shape.join(', ')}) needs ${nbytes}`);
  }
  // Copy to an aligned buffer.
  const data = new Ctor(count);
  Buffer.from(data.buffer).set(buf.subarray(dataOff, dataOff + nbytes));
  return { descr, shape, data };
}

// NPY version 1.0, '<f4', C order; header padded to a multiple of 64 bytes.
function npyFloat32Bytes(data, shape) {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength)]);
}

function writeNpyFloat32(file, data, shape) {
  try {
    fs.writeFileSync(file, npyFloat32Bytes(data, shape));
  } catch (e) {
    fail(file, `cannot write: ${e.message}`);
  }
}

// ---------------------------------------------------------------- data sources

// Returns a data source:
// { count, chw: [C,H,W], labels (Uint8Array|Int32Array|null), fill(out, first, n), desc }
// where fill writes preprocessed float32 NCHW images [first, first+n) into out.
function openData(spec, modelPath, modelChw, prog, labelsFile) {
  let src;
  let m;
  if ((m = /^fashion-mnist:(test|train)$/.exec(spec))) {
    const ds = loadFashionMnist(m[1]);
    const { pre, source } = modelPreprocess(modelPath, prog);
    if (pre.size[0] !== ds.h || pre.size[1] !== ds.w) {
      fail(modelPath, `gammaq.preprocess size ${JSON.stringify(pre.size)} differs from the ${ds.h}x${ds.w} data; resizing is not supported`);
    }
    const chw = [CHANNELS[pre.channels], ds.h, ds.w];
    const hw = ds.h * ds.w;
    src = {
      count: ds.count,
      chw,
      labels: ds.labels,
      fill: (out, first, n) => preprocessInto(out, ds.images, first, n, hw, pre),
      desc: { data: spec, preprocess: pre, preprocess_source: source },
    };
  } else if ((m = /^npy:([^,]+)(?:,(.+))?$/.exec(spec))) {
    // gammaq's npy:IMAGES.npy[,LABELS.npy]
    const file = m[1];
    if (m[2] && !labelsFile) labelsFile = m[2];
    const arr = readNpy(file);
    if (arr.descr !== 'f4') fail(file, `expected float32 NCHW data, got dtype ${arr.descr}`);
    if (arr.shape.length !== 4) fail(file, `expected a 4-d NCHW array, got shape (${arr.shape.join(', ')})`);
    const [n, c, h, w] = arr.shape;
    const per = c * h * w;
    src = {
      count: n,
      chw: [c, h, w],
      labels: null,
      fill: (out, first, k) => out.set(arr.data.subarray(first * per, (first + k) * per)),
      desc: { data: spec, preprocess: 'none (npy input is already preprocessed)' },
    };
  } else {
    fail('--data', `expected fashion-mnist:test, fashion-mnist:train or npy:FILE.npy, got '${spec}'`);
  }
  if (labelsFile) {
    const lab = readNpy(labelsFile);
    if (lab.shape.length !== 1 || lab.shape[0] !== src.count) {
      fail(labelsFile, `expected ${src.count} labels, got shape (${lab.shape.join(', ')})`);
    }
    if (!/^[iu][124]$/.test(lab.descr) && lab.descr !== 'i8') fail(labelsFile, `labels must be integers, got ${lab.descr}`);
    src.labels = Int32Array.from(lab.data, Number);
  }
  // An NHWC model input (tf2onnx) that takes the data as [N, H, W, C]: images are transposed
  // from NCHW when fed (runBatches).
  const fits = (want) => want.every((d, i) => modelChw[i] === null || modelChw[i] === d);
  const [c, h, w] = src.chw;
  src.nhwc = !fits(src.chw) && fits([h, w, c]) && modelChw[2] !== null && modelChw[2] === c;
  for (let i = 0; i < 3 && !src.nhwc; i++) {
    if (modelChw[i] !== null && modelChw[i] !== src.chw[i]) {
      fail(modelPath, `model input expects [N, ${modelChw.map((d) => (d === null ? '?' : d)).join(', ')}], data is [N, ${src.chw.join(', ')}]`);
    }
  }
  return src;
}

// '--slice a:b' (b exclusive, either side may be empty, b clamped to count).
function parseSlice(value, count) {
  if (value === undefined) return [0, count];
  const m = /^(\d*):(\d*)$/.exec(value);
  if (!m) fail('--slice', `expected a:b with non-negative integers, got '${value}'`);
  const a = m[1] === '' ? 0 : Number(m[1]);
  const b = m[2] === '' ? count : Math.min(Number(m[2]), count);
  if (a > b) fail('--slice', `empty or reversed range '${value}' (data has ${count} images)`);
  return [a, b];
}

// ---------------------------------------------------------------- scoring

// Ranking for class c on one image: number of classes ordered before it,
// where ties go to the lower class index (as ONNX ArgMax). NaN never ranks high.
function rankOf(logits, off, classes, c) {
  const v = logits[off + c];
  if (Number.isNaN(v)) return Infinity;
  let r = 0;
  for (let j = 0; j < classes; j++) {
    const u = logits[off + j];
    if (u > v || (u === v && j < c)) r++;
  }
  return r;
}

// Returns { top1, top5, tied_top1 } counts over n images (labels may be null).
function scoreLogits(logits, n, classes, labels, labelOffset) {
  let top1 = 0;
  let top5 = 0;
  let tied = 0;
  for (let i = 0; i < n; i++) {
    const off = i * classes;
    let best = -Infinity;
    let ties = 0;
    for (let j = 0; j < classes; j++) {
      const u = logits[off + j];
      if (u > best) {
        best = u;
        ties = 1;
      } else if (u === best) {
        ties++;
      }
    }
    if (ties >= 2) tied++;
    if (labels) {
      const y = Number(labels[labelOffset + i]);
      if (y >= 0 && y < classes) {
        const r = rankOf(logits, off, classes, y);
        if (r < 1) top1++;
        if (r < 5) top5++;
      }
    }
  }
  return { top1, top5, tied_top1: tied };
}

// ---------------------------------------------------------------- evaluation

// Runs the model over images [first, first+n) of src in batches.
// Returns { logits: Float32Array(n*classes), classes, runSeconds }.
// One warm-up run of the first batch precedes the timed runs.
async function runBatches(session, io, src, first, n, batch) {
  const ort = loadOrt();
  const [c, h, w] = src.chw;
  const per = c * h * w;
  const input = new Float32Array(Math.min(batch, n) * per);
  let logits = null;
  let classes = 0;
  let runNs = 0n;

  const nhwc = src.nhwc ? new Float32Array(input.length) : null;
  const runOne = async (start, k) => {
    let view = input.subarray(0, k * per);
    src.fill(view, first + start, k);
    let dims = [k, c, h, w];
    if (nhwc) {
      const t = nhwc.subarray(0, k * per);
      for (let i = 0; i < k; i++)
        for (let ch = 0; ch < c; ch++)
          for (let p = 0; p < h * w; p++) t[i * per + p * c + ch] = view[i * per + ch * h * w + p];
      view = t;
      dims = [k, h, w, c];
    }
    const feeds = { [io.inputName]: new ort.Tensor('float32', view, dims) };
    const t0 = process.hrtime.bigint();
    const out = await session.run(feeds, [io.outputName]);
    const dt = process.hrtime.bigint() - t0;
    return { t: out[io.outputName], dt };
  };

  await runOne(0, Math.min(batch, n)); // warm-up, not timed, result discarded
  for (let start = 0; start < n; start += batch) {
    const k = Math.min(batch, n - start);
    const { t, dt } = await runOne(start, k);
    runNs += dt;
    if (t.type !== 'float32') fail(io.outputName, `output type ${t.type}, expected float32`);
    if (t.dims[0] !== k) fail(io.outputName, `output batch dim ${t.dims[0]}, expected ${k}`);
    const cls = t.data.length / k;
    if (logits === null) {
      classes = cls;
      logits = new Float32Array(n * classes);
    } else if (cls !== classes) {
      fail(io.outputName, 'output size changed between batches');
    }
    logits.set(t.data, start * classes);
  }
  return { logits, classes, runSeconds: Number(runNs) / 1e9 };
}

function sha256File(file) {
  return crypto.createHash('sha256').update(readFileOrFail(file)).digest('hex');
}

module.exports = {
  UsageError,
  fail,
  runMain,
  parseArgs,
  parseIntOpt,
  parseNumOpt,
  requireFile,
  requireWritableDir,
  loadOrt,
  ortVersion,
  createSession,
  sessionIO,
  readOnnxMetadata,
  DEFAULT_PREPROCESS,
  modelPreprocess,
  preprocessInto,
  readIdx,
  loadFashionMnist,
  readNpy,
  npyFloat32Bytes,
  writeNpyFloat32,
  openData,
  parseSlice,
  scoreLogits,
  runBatches,
  sha256File,
};
