import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { useGuardEnv } from "@/tests/support/guard-env";
import { setEnv, until } from "@/tests/support/route-env";
import { testEngine } from "@/tests/support/test-engine";

/**
 * What a request with a large image holds while it is in flight, measured on the heap and in
 * array buffers after full garbage collections (so the figures are what is reachable, not what
 * is waiting to be collected). Replicate is a bare loopback server that drains each create's body
 * without keeping it, so only the route's own copies are counted (msw would add its own).
 */
useGuardEnv();

// gc() without a command-line flag: the flag, then a fresh context's gc (as tests/faults.test.ts).
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

function reachableBytes(): number {
  for (let i = 0; i < 3; i++) gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const IMAGE_BYTES = 3 * 1024 * 1024;
const N = 10;

/** A body of `{prompt, image}` with a 3 MiB PNG as raw base64: 4 MiB of JSON. */
function imageBody(seed: number): string {
  const png = Buffer.alloc(IMAGE_BYTES, seed);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return JSON.stringify({ prompt: "a lighthouse", image: png.toString("base64") });
}

let bodiesReceived = 0;
let creates = 0;
const held: ServerResponse[] = [];
let holdCreates = true;
const replicate = createServer((req, res) => {
  const id = `mem${(creates += 1)}`;
  req.on("data", () => undefined);
  req.on("end", () => {
    bodiesReceived += 1;
    const answer = () => {
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ id, status: "starting", input: {}, output: null, error: null, logs: "", urls: {} }));
    };
    if (holdCreates && req.method === "POST") held.push(Object.assign(res, { answer }));
    else answer();
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => replicate.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  await new Promise((resolve) => replicate.close(resolve));
});

function post(body: string, signal: AbortSignal) {
  const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) };
  return POST(new Request("http://app.test/api/ai/replicate", { method: "POST", headers, body, signal }));
}

describe("memory held per in-flight request with a large image", () => {
  it("is at most 3 times the body, while its create is on the wire and while it waits for the prediction", async () => {
    const port = (replicate.address() as AddressInfo).port;
    setEnv({
      REPLICATE_API_BASE_URL: `http://127.0.0.1:${port}/v1`,
      REPLICATE_SYNC_WAIT_SECONDS: "0",
      REPLICATE_TIMEOUT_SECONDS: "600",
      REPLICATE_POLL_INTERVAL_MS: "600000",
    });
    const bodies = Array.from({ length: N }, (_, i) => imageBody(i + 1));
    const size = Buffer.byteLength(bodies[0]);
    const controllers = bodies.map(() => new AbortController());
    const before = reachableBytes();

    const answers = bodies.map((body, i) => post(body, controllers[i].signal));
    await until(() => bodiesReceived === N, 15_000);
    const whileCreating = (reachableBytes() - before) / N;
    // The body bytes are counted against the process budget for as long as the request is in flight.
    expect(testEngine().bodyBudget.current).toBe(N * size);

    holdCreates = false;
    for (const res of held.splice(0)) (res as ServerResponse & { answer: () => void }).answer();
    await until(() => creates === N && held.length === 0, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const whileWaiting = (reachableBytes() - before) / N;

    process.stderr.write(
      `${JSON.stringify({ body_bytes: size, held_while_creating: Math.round(whileCreating), held_while_waiting: Math.round(whileWaiting), ratio_creating: +(whileCreating / size).toFixed(2), ratio_waiting: +(whileWaiting / size).toFixed(2) })}\n`,
    );
    expect(whileCreating).toBeLessThanOrEqual(3 * size);
    expect(whileWaiting).toBeLessThanOrEqual(3 * size);

    for (const controller of controllers) controller.abort();
    await Promise.all(answers);
    expect(testEngine().inFlight.current).toBe(0);
    expect(testEngine().bodyBudget.current).toBe(0);
  });
});
