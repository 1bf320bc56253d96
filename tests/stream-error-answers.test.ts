import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Problem } from "@/lib/server/problem";
import { callReplicate } from "@/lib/server/replicate/transport";
import { setEnv } from "@/tests/support/route-env";
import { resetEngine, testConfig } from "@/tests/support/test-engine";

/**
 * An error answer to a stream call (an event stream refused with a 429 or a 5xx), over real loopback
 * HTTP: the route reads it as it reads any error, and the connection goes back to the pool. Unread,
 * such an answer held its socket until the server timed it out, and its detail was lost.
 */
const DETAIL = "Request was throttled. Expected available in 1 second.";
let server: http.Server;
let origin = "";
const connections: unknown[] = [];

beforeAll(async () => {
  server = http.createServer((_request, response) => {
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
