// SPDX-License-Identifier: MIT
//
// ONNX Runtime (CPU provider) reference benchmark for the sample models,
// run by build-aux/bench-ort.sh, which installs onnxruntime-node and sets
// LATHE_ORT_DIR to the folder holding its node_modules.
//
//   node build-aux/bench-ort.mjs [--threads N] [--batch N] [--passes N] [MODEL.onnx ...]
//
// Each model is evaluated on the 10 000 Fashion-MNIST test images,
// preprocessed in float32 exactly as the engine does: (p/255 - 0.2860)/0.3530,
// NCHW [N,1,28,28]. After one warm-up batch, PASSES full passes are timed
// (session.run only) and the best one is reported.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA_DIR = '/usr/share/datasets/fashion-mnist';
const DEFAULT_MODELS = ['data/samples/fashion-mlp.onnx', 'data/samples/fashion-cnn.onnx'];
const MEAN = Math.fround(0.2860);
const STD = Math.fround(0.3530);
const N_CLASSES = 10;

function usage(status) {
  const out = status === 0 ? process.stdout : process.stderr;
  out.write('usage: bench-ort.mjs [--threads N] [--batch N] [--passes N] [MODEL.onnx ...]\n' +
            '  --threads N  intra-op threads (default: all cores)\n' +
            '  --batch N    images per session.run (default: 1000)\n' +
            '  --passes N   timed passes over the test set, best reported (default: 3)\n' +
            `  MODEL        default: ${DEFAULT_MODELS.join(' ')}\n`);
  process.exit(status);
}

function positiveInt(name, text) {
  if (text === undefined || !/^[0-9]+$/.test(text) || Number(text) < 1) {
    process.stderr.write(`bench-ort: ${name} needs a positive integer, got '${text ?? ''}'\n`);
    usage(2);
  }
  return Number(text);
}

function parseArgs(argv) {
  const opts = {
    threads: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    batch: 1000,
    passes: 3,
    models: [],
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const take = () => (value !== undefined ? value : argv[++i]);
    switch (arg) {
      case '--threads': opts.threads = positiveInt(arg, take()); break;
      case '--batch': opts.batch = positiveInt(arg, take()); break;
      case '--passes': opts.passes = positiveInt(arg, take()); break;
      case '-h': case '--help': usage(0); break;
      default:
        if (arg.startsWith('-')) {
          process.stderr.write(`bench-ort: unknown option '${arg}'\n`);
          usage(2);
        }
        opts.models.push(arg);
    }
  }
  if (opts.models.length === 0)
    opts.models = DEFAULT_MODELS.map((m) => path.join(ROOT, m));
  return opts;
}

function loadOrt() {
  const dir = process.env.LATHE_ORT_DIR;
  const require = createRequire(dir ? path.join(path.resolve(dir), 'package.json') : import.meta.url);
  try {
    return { ort: require('onnxruntime-node'), version: require('onnxruntime-node/package.json').version };
  } catch (e) {
    process.stderr.write(`bench-ort: cannot load onnxruntime-node${dir ? ` from ${dir}` : ''}: ${e.message}\n` +
                         'bench-ort: run build-aux/bench-ort.sh, which installs it\n');
    process.exit(1);
  }
}

// Gzip-compressed IDX file of unsigned bytes: magic 0x000008NN (NN = rank),
// then NN big-endian u32 dimensions, then the data.
function readIdx(file, rank) {
  const raw = zlib.gunzipSync(fs.readFileSync(file));
  const magic = raw.readUInt32BE(0);
  if (magic !== (0x0800 | rank))
    throw new Error(`${file}: magic 0x${magic.toString(16).padStart(8, '0')}, ` +
                    `expected 0x${(0x0800 | rank).toString(16).padStart(8, '0')}`);
  const dims = [];
  for (let d = 0; d < rank; d++)
    dims.push(raw.readUInt32BE(4 + 4 * d));
  const offset = 4 * (1 + rank);
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== offset + count)
    throw new Error(`${file}: ${raw.length} bytes, expected ${offset + count} for [${dims}]`);
  return { dims, data: raw.subarray(offset) };
}

function loadTestSet() {
  const images = readIdx(path.join(DATA_DIR, 't10k-images-idx3-ubyte.gz'), 3);
  const labels = readIdx(path.join(DATA_DIR, 't10k-labels-idx1-ubyte.gz'), 1);
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n)
    throw new Error(`${n} images but ${labels.dims[0]} labels`);
  // float32 at every step, as in C: ((float) p / 255.0f - mean) / std.
  const table = new Float32Array(256);
  for (let p = 0; p < 256; p++)
    table[p] = Math.fround(Math.fround(Math.fround(p / 255) - MEAN) / STD);
  const x = new Float32Array(n * h * w);
  for (let i = 0; i < x.length; i++)
    x[i] = table[images.data[i]];
  return { n, h, w, x, labels: labels.data };
}

// Index of the largest logit; ties go to the lowest index.
function argmax(logits, offset) {
  let best = 0;
  for (let c = 1; c < N_CLASSES; c++)
    if (logits[offset + c] > logits[offset + best])
      best = c;
  return best;
}

async function benchModel(ort, modelPath, set, opts) {
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const sample = set.h * set.w;

  // Tensors are built outside the timed region; they wrap views of x.
  const batches = [];
  for (let start = 0; start < set.n; start += opts.batch) {
    const count = Math.min(opts.batch, set.n - start);
    const view = set.x.subarray(start * sample, (start + count) * sample);
    batches.push({ start, count, tensor: new ort.Tensor('float32', view, [count, 1, set.h, set.w]) });
  }

  const warm = await session.run({ [inputName]: batches[0].tensor });
  if (warm[outputName].dims.at(-1) !== N_CLASSES)
    throw new Error(`${modelPath}: output '${outputName}' has shape [${warm[outputName].dims}], expected [N,${N_CLASSES}]`);

  let best = Infinity;
  let correct = 0;
  for (let pass = 0; pass < opts.passes; pass++) {
    const outputs = [];
    let elapsed = 0n;
    for (const b of batches) {
      const t0 = process.hrtime.bigint();
      const result = await session.run({ [inputName]: b.tensor });
      elapsed += process.hrtime.bigint() - t0;
      outputs.push(result[outputName]);
    }
    best = Math.min(best, Number(elapsed) / 1e9);
    if (pass === 0) {
      batches.forEach((b, k) => {
        const logits = outputs[k].data;
        for (let i = 0; i < b.count; i++)
          if (argmax(logits, i * N_CLASSES) === set.labels[b.start + i])
            correct++;
      });
    }
  }
  await session.release();
  return { best, correct };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { ort, version } = loadOrt();
  const set = loadTestSet();

  console.log(`onnxruntime-node ${version}, CPU provider, node ${process.version}`);
  console.log(`${set.n} Fashion-MNIST test images, batch ${opts.batch}, intra-op threads ${opts.threads}, ` +
              `inter-op threads 1, graph optimization all, best of ${opts.passes} pass${opts.passes === 1 ? '' : 'es'}`);
  for (const model of opts.models) {
    const name = path.relative(ROOT, path.resolve(model)) || model;
    const { best, correct } = await benchModel(ort, path.resolve(model), set, opts);
    console.log(`${name}: best ${best.toFixed(4)} s, ${(set.n / best).toFixed(0)} samples/s, ` +
                `top-1 ${correct}/${set.n} = ${(100 * correct / set.n).toFixed(2)}%`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench-ort: ${e.stack || e}\n`);
  process.exit(1);
});
