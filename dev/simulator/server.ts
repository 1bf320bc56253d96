import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { rawBodyOf } from "./responses";
import { DROP, SimulatedReplicate, type SimulatedReplicateOptions } from "./simulated-replicate";

/** The simulator as a loopback HTTP server (demo, browser tests, benchmark). */

export interface SimulatorServerOptions extends SimulatedReplicateOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: "127.0.0.1";
}

export interface SimulatorServer {
  origin: string;
  /** origin + "/v1": what REPLICATE_API_BASE_URL should be. */
  baseUrl: string;
  sim: SimulatedReplicate;
  close(): Promise<void>;
}

// Long enough that a keep-alive client never races an idle socket being closed under it.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export async function startSimulatorServer(options: SimulatorServerOptions = {}): Promise<SimulatorServer> {
  const { port = 0, host = "127.0.0.1", ...simOptions } = options;
  const sim = new SimulatedReplicate(simOptions);
  const sockets = new Set<Socket>();

  const server = createServer({ keepAlive: true }, (req, res) => {
    serve(sim, req, res).catch((error: unknown) => {
      console.error("[simulated-replicate] server error:", error);
      res.destroy();
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  server.on("connection", (socket: Socket) => {
    sim.connectionCount += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  // A deep backlog so a thousand simultaneous connects are queued, not refused or retried after 1 s.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, backlog: 4096 }, () => resolve());
  });
  const origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  sim.origin ??= origin;

  return {
    origin,
    baseUrl: `${origin}/v1`,
    sim,
    close: () =>
      new Promise<void>((resolve) => {
        sim.shutdown();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

async function serve(sim: SimulatedReplicate, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const answer = await sim.handle(await toFetchRequest(req, clientGoneSignal(req, res)));
  if (answer === DROP) {
    req.socket.destroy();
    return;
  }
  if (res.destroyed) {
    await answer.body?.cancel();
    return;
  }
  const headers = Object.fromEntries(answer.headers);
  if (answer.headers.get("content-type")?.startsWith("text/event-stream")) {
    res.writeHead(answer.status, headers);
    res.flushHeaders();
    await pipeBody(answer, res);
    return;
  }
  const raw = rawBodyOf(answer);
  const body = raw === undefined ? Buffer.from(await answer.arrayBuffer()) : Buffer.from(raw);
  res.writeHead(answer.status, { ...headers, "content-length": String(body.length) });
  res.end(body);
}

/**
 * Aborts when the client leaves before its answer, so holds and streams stop. Only requests that can
 * be held (creates, streams) get one: an AbortController per poll is a measurable share of the cost.
 */
function clientGoneSignal(req: IncomingMessage, res: ServerResponse): AbortSignal | undefined {
  if (req.method === "GET" && !req.url?.includes("/stream")) return undefined;
  const clientGone = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) clientGone.abort();
  });
  return clientGone.signal;
}

async function toFetchRequest(req: IncomingMessage, signal: AbortSignal | undefined): Promise<Request> {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  const chunks: Buffer[] = [];
  if (hasBody) for await (const chunk of req) chunks.push(chunk as Buffer);
  return new Request(`http://${req.headers.host ?? "127.0.0.1"}${req.url ?? "/"}`, {
    method,
    headers,
    body: hasBody ? Buffer.concat(chunks) : undefined,
    signal,
  });
}

/** Writes a streamed body chunk by chunk; stops reading when the client goes away. */
async function pipeBody(answer: Response, res: ServerResponse): Promise<void> {
  if (!answer.body) return void res.end();
  const reader = answer.body.getReader();
  res.on("close", () => void reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      res.write(value);
    }
  } finally {
    res.end();
  }
}
