// @node-rs/argon2's Argon2id rate: one worker thread per core, each hashing
// back to back at the given cost. Prints `argon2_hashes_per_sec <rate>`.
// Usage: node node_rs.mjs SECONDS MEMORY_KIB ITERATIONS PARALLELISM
import { hashSync } from '@node-rs/argon2';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

if (isMainThread) {
  const [seconds, memoryCost, timeCost, parallelism] = process.argv.slice(2).map(Number);
  const threads = availableParallelism();
  const started = performance.now();
  const counts = await Promise.all(Array.from({ length: threads }, () => new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { seconds, options: { memoryCost, timeCost, parallelism, algorithm: 2 } },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
  })));
  const rate = counts.reduce((a, b) => a + b, 0) / ((performance.now() - started) / 1000);
  console.log(`argon2_hashes_per_sec ${rate.toFixed(1)}`);
} else {
  const until = Date.now() + workerData.seconds * 1000;
  let done = 0;
  while (Date.now() < until) {
    hashSync('ceiling password', workerData.options);
    done += 1;
  }
  parentPort.postMessage(done);
}
