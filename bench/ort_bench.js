// ONNX Runtime's side of the benchmark (onnxruntime-node, CPU):
//   node ort_bench.js model.onnx input.bin N,C,H,W threads runs output.bin
// prints {"median_ms": ...} after writing the output of one run (float32, raw) for the check.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, inputPath, dimsText, threads, runs, outputPath] = process.argv.slice(2);
  const dims = dimsText.split(',').map(Number);
  const buffer = fs.readFileSync(inputPath);
  const data = new Float32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 4);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, dims)};
  let result = await session.run(feeds);
  fs.writeFileSync(outputPath, Buffer.from(result[session.outputNames[0]].data.buffer));
  for (let i = 0; i < 3; ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < Number(runs); ++i) {
    const start = process.hrtime.bigint();
    result = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({median_ms: times[Math.floor(times.length / 2)]}));
}

main().catch((error) => { console.error(error); process.exit(1); });
