/**
 * What files add to one prediction (issue 14), measured on loopback against the simulator's HTTP
 * server, the route handler called in-process (no Next server, so only the route's own work and
 * its calls to Replicate count). Prints the median of each case over N runs:
 *
 *   baseline          {prompt} in JSON, one output, nothing kept
 *   2 MB JSON         + a 2 MB PNG as base64 in JSON: uploaded to the Files API, passed by URL
 *   2 MB multipart    + the same PNG as a file part
 *   2 MB inline       + the same PNG sent inline as a data URL (REPLICATE_INLINE_MAX_BYTES raised)
 *   kept 1 output     baseline with OUTPUT_STORAGE=fs (its one file copied)
 *   keep 4 x 1 MB     keepOutputs alone on a prediction with four 1 MB images (data URLs) to fs
 *
 * Run: node --conditions=react-server --import tsx bench/files-cost.ts [runs]
 * (not part of `npm run bench`; a focused measurement, not a test).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { POST } from "@/app/api/ai/replicate/route";
import { seedPngDataUrl } from "@/dev/simulator/png-image";
import { startSimulatorServer } from "@/dev/simulator/server";
import { DEFAULT_TOKEN } from "@/dev/simulator/simulated-replicate";
import { keepOutputs } from "@/lib/server/storage/keep-outputs";
import type { Prediction } from "@/lib/shared/prediction";

const RUNS = Number(process.argv[2] ?? 15);
const ROUTE = "http://127.0.0.1/api/ai/replicate";

async function main() {
  const simulator = await startSimulatorServer({ bootMs: 0, runMs: 50, retentionMs: false, foreignTraffic: false });
  const dir = mkdtempSync(join(tmpdir(), "files-cost-"));
  const baseEnv = {
    REPLICATE_API_TOKEN: DEFAULT_TOKEN,
    REPLICATE_MODEL: "simulated/image-model",
    REPLICATE_API_BASE_URL: simulator.baseUrl,
    REPLICATE_SYNC_WAIT_SECONDS: "5",
    REPLICATE_POLL_INTERVAL_MS: "20",
    REPLICATE_MAX_BODY_BYTES: String(10 * 1024 * 1024),
    REPLICATE_INLINE_MAX_BYTES: "",
    OUTPUT_STORAGE: "",
    OUTPUT_STORAGE_DIR: dir,
  };
  const png = Buffer.from(seedPngDataUrl(3, 2 * 1024 * 1024).split(",")[1], "base64");
  const dataUrl = `data:image/png;base64,${png.toString("base64")}`;
  const json = (body: unknown) =>
    new Request(ROUTE, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const multipart = () => {
    const form = new FormData();
    form.append("prompt", "bench");
    form.append("image", new File([png], "in.png", { type: "image/png" }));
    return new Request(ROUTE, { method: "POST", body: form });
  };

  const cases: { name: string; env?: Record<string, string>; run: () => Promise<unknown> }[] = [
    { name: "baseline", run: () => route(json({ prompt: "bench" })) },
    { name: "2 MB JSON (Files API)", run: () => route(json({ prompt: "bench", image: dataUrl })) },
    { name: "2 MB multipart (Files API)", run: () => route(multipart()) },
    {
      name: "2 MB inline data URL",
      env: { REPLICATE_INLINE_MAX_BYTES: String(8 * 1024 * 1024) },
      run: () => route(json({ prompt: "bench", image: dataUrl })),
    },
    { name: "kept 1 output (fs)", env: { OUTPUT_STORAGE: "fs" }, run: () => route(json({ prompt: "bench" })) },
    {
      name: "keep 4 x 1 MB outputs (fs), alone",
      env: { OUTPUT_STORAGE: "fs" },
      run: () => keepOutputs(fourImages()),
    },
  ];

  const rows: string[] = [];
  let baseline = 0;
  for (const entry of cases) {
    Object.assign(process.env, baseEnv, entry.env ?? {});
    await entry.run(); // warm-up: module paths, sockets
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await entry.run();
      times.push(performance.now() - started);
    }
    const median = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
    if (entry.name === "baseline") baseline = median;
    rows.push(
      `| ${entry.name} | ${median.toFixed(1)} ms | ${entry.name.includes("alone") ? "" : `${(median / baseline).toFixed(2)}x`} |`,
    );
  }
  console.log(`runs per case: ${RUNS}; simulated model run 50 ms; loopback\n`);
  console.log("| case | median | vs baseline |\n| --- | --- | --- |");
  for (const row of rows) console.log(row);
  await simulator.close();
  rmSync(dir, { recursive: true, force: true });
}

async function route(request: Request): Promise<void> {
  const response = await POST(request);
  const body = (await response.json()) as { status?: string };
  if (response.status !== 200 || body.status !== "succeeded")
    throw new Error(`unexpected answer ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
}

let counter = 0;
function fourImages(): Prediction {
  // A fresh id each time: a kept prediction would be answered from its manifest without copying.
  counter += 1;
  const id = `benchfour${String(counter).padStart(8, "0")}`;
  const output = [1, 2, 3, 4].map((seed) => seedPngDataUrl(seed, 1024 * 1024));
  return { id, status: "succeeded", output, input: {}, error: null, logs: "" } as unknown as Prediction;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
