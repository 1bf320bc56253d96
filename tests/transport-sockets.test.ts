import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Problem } from "@/lib/server/problem";
import { callReplicate } from "@/lib/server/replicate/transport";
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
    response.writeHead(429, { "content-type": "application/problem+json", "retry-after": "1" });
    response.end(JSON.stringify({ title: "Too Many Requests", detail: DETAIL, status: 429 }));
  });
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
