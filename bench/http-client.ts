/**
 * The benchmark's caller: node:http with keep-alive and no socket cap, so a crowd of a thousand
 * really is a thousand requests in flight and no measurement pays a new connection. A failure
 * never throws: it is an answer with status 0, counted like any other failure.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";

export interface Answer {
  status: number;
  body: string;
  /** Epoch ms (with fractions) when the request was sent and when the last byte of the answer arrived. */
  sentAt: number;
  receivedAt: number;
}

export interface JsonCaller {
  post(url: string, body: unknown, headers?: Record<string, string>): Promise<Answer>;
  close(): void;
}

export function createJsonCaller(timeoutMs: number): JsonCaller {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 2_048 });
  return {
    post: (url, body, headers = {}) => post(agent, timeoutMs, url, body, headers),
    close: () => agent.destroy(),
  };
}

function post(
  agent: http.Agent,
  timeoutMs: number,
  url: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Answer> {
  const payload = Buffer.from(JSON.stringify(body));
  const sentAt = preciseNow();
  return new Promise((resolve) => {
    const fail = (message: string) => resolve({ status: 0, body: message, sentAt, receivedAt: preciseNow() });
    const request = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": String(payload.length), ...headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", (error) => fail(error.message));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString(), sentAt, receivedAt: preciseNow() }),
        );
      },
    );
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", (error) => fail(error.message));
    request.end(payload);
  });
}

/** Date.now() to a fraction of a millisecond, so round trips of a few ms are measured, not rounded. */
function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
