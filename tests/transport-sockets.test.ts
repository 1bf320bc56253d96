import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { Problem } from "@/lib/server/problem";
import { replicateEvents } from "@/lib/server/replicate/replicate-stream";
import { callReplicate } from "@/lib/server/replicate/transport";
import { turnsUntil } from "@/tests/support/fake-clock";
import { setEnv } from "@/tests/support/route-env";
import { resetEngine, testConfig } from "@/tests/support/test-engine";

/**
 * The connections to Replicate, over real loopback HTTP. An error answer to a stream call (an event
 * stream refused with a 429 or a 5xx) is read as any error is, and its connection goes back to the
 * pool (unread, it held its socket until the server timed it out, and its detail was lost). A
 * crowd's connections are kept for the next crowd.
 */
const DETAIL = "Request was throttled. Expected available in 1 second.";
let server: http.Server;
let origin = "";
const connections: unknown[] = [];

/** Requests held until this many are open at once (a crowd), then all answered. */
let crowd = 0;
let held: http.ServerResponse[] = [];
const stuck: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    if (request.url === "/v1/crowd") {
      held.push(response);
      if (held.length < crowd) return;
      for (const waiting of held)
        waiting.writeHead(200, { "content-type": "application/json" }).end('{"id":"p","status":"succeeded"}');
      held = [];
      return;
    }
    if (request.url === "/events/silent") {
      // An event stream that sends one event, then nothing.
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("event: output\ndata: first\n\n");
      stuck.push(response);
      return;
    }
    if (request.url === "/stream/stuck") {
      // An error answer whose body never ends.
      response.writeHead(503, { "content-type": "application/problem+json" });
      response.write('{"title":"Service Unavailable","detail":"Try ag');
      stuck.push(response);
      return;
    }
    response.writeHead(429, { "content-type": "application/problem+json", "retry-after": "1" });
    response.end(JSON.stringify({ title: "Too Many Requests", detail: DETAIL, status: 429 }));
  });
  // Idle sockets stay open between the tests' waves however slow the machine (Node's default: 5 s).
  server.keepAliveTimeout = 120_000;
  server.on("connection", (socket) => connections.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  setEnv();
  resetEngine();
  connections.length = 0;
});

const streamCall = () =>
  callReplicate(testConfig(), {
    method: "GET",
    path: `${origin}/stream/abc`,
    stream: true,
    idempotent: false,
    deadline: Date.now() + 5_000,
  });

describe("an error answer to a stream call", () => {
  it("is read: Replicate's own detail reaches the problem, and its connection is reused by the next call", async () => {
    for (let call = 0; call < 3; call += 1) {
      const error = await streamCall().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Problem);
      expect(error).toMatchObject({ status: 429, detail: DETAIL });
    }
    expect(connections).toHaveLength(1);
  });
});

describe("an error answer to a stream call whose body never ends", () => {
  const stuckCall = (signal?: AbortSignal) =>
    callReplicate(testConfig(), {
      method: "GET",
      path: `${origin}/stream/stuck`,
      stream: true,
      idempotent: false,
      signal,
      timeoutMs: 60_000,
      deadline: Date.now() + 5_000,
    });

  it("is given up when the call is aborted, with what came of it", async () => {
    const stop = new AbortController();
    let settled = false;
    const call = stuckCall(stop.signal).catch((caught: unknown) => caught);
    void call.then(() => (settled = true));
    await turnsUntil(() => stuck.length === 1);
    // Its headers and the start of its body came: the call waits for the rest.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    stop.abort();
    const error = await call;
    expect(error).toBeInstanceOf(Problem);
    for (const response of stuck.splice(0)) response.destroy();
  });

  it("is given up after at most ten seconds of reading it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    onTestFinished(() => void vi.useRealTimers());
    let settled = false;
    const call = stuckCall().catch((caught: unknown) => caught);
    void call.then(() => (settled = true));
    await turnsUntil(() => stuck.length === 1);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    const error = await call;
    expect(error).toMatchObject({ status: 503 });
    for (const response of stuck.splice(0)) response.destroy();
  });
});

describe("an event stream silent for its idle time", () => {
  it("is ended then, not before: the reader's loop ends with an error", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    onTestFinished(() => void vi.useRealTimers());
    const events = replicateEvents(testConfig(), `${origin}/events/silent`, new AbortController().signal, { idleMs: 5_000 });
    const first = events.next();
    await turnsUntil(() => stuck.length === 1);
    expect((await first).value).toMatchObject({ event: "output", data: "first" });
    let ended: unknown;
    events.next().then(
      (result) => (ended = result),
      (error: unknown) => (ended = error),
    );
    await vi.advanceTimersByTimeAsync(4_999);
    expect(ended).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await turnsUntil(() => ended !== undefined);
    expect(ended).toBeInstanceOf(Error);
    for (const response of stuck.splice(0)) response.destroy();
  });
});

describe("a crowd's connections", () => {
  it("are kept for the next crowd: 400 calls at once, twice, open no connection the second time", async () => {
    crowd = 400;
    const wave = () =>
      Promise.all(
        Array.from({ length: crowd }, () =>
          callReplicate(testConfig(), {
            method: "GET",
            path: `${origin}/v1/crowd`,
            idempotent: true,
            deadline: Date.now() + 60_000,
          }),
        ),
      );
    await wave();
    // A socket another test left in the pool may serve one of them.
    const opened = connections.length;
    expect(opened).toBeGreaterThanOrEqual(crowd - 1);
    await wave();
    expect(connections).toHaveLength(opened);
  });
});
