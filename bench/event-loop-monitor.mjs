// Preloaded into every serving process (NODE_OPTIONS="--import <this file>"): measures how late the
// event loop runs its callbacks and writes the figures to BENCH_EVENT_LOOP_DIR/<pid>.json twice a
// second. SIGUSR2 starts a new measurement window (the benchmark sends it when a scenario begins,
// so start-up and earlier scenarios do not count). Plain JavaScript: it must load without tsx.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";

const dir = process.env.BENCH_EVENT_LOOP_DIR;
if (dir) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${process.pid}.json`);
  let windowStartedAt = Date.now();

  const write = () => {
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    const figures = {
      pid: process.pid,
      windowStartedAt,
      writtenAt: Date.now(),
      samples: histogram.count,
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
    };
    // Written beside and renamed, so a reader never sees half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify(figures));
    renameSync(`${file}.tmp`, file);
  };

  process.on("SIGUSR2", () => {
    histogram.reset();
    windowStartedAt = Date.now();
    write();
  });
  write();
  setInterval(write, 500).unref();
}
