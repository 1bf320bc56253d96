/**
 * The app's route handlers served over loopback HTTP, in-process: what `next start` does for them
 * (one Web Request in, one Web Response out, `params` for the dynamic segments), without a build,
 * so that a real HTTP client (curl) can call them. Records every answer's status.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { DELETE as deletePrediction, GET as getPrediction } from "@/app/api/ai/replicate/[id]/route";
import { GET as getOutput, HEAD as headOutput } from "@/app/api/ai/replicate/outputs/[token]/route";
import { GET as downloadOutput } from "@/app/api/ai/replicate/download/[id]/[index]/route";
import { POST as createPrediction } from "@/app/api/ai/replicate/route";
import { GET as getSchema } from "@/app/api/ai/replicate/schema/route";
import { POST as receiveWebhook } from "@/app/api/ai/replicate/webhook/route";

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

/** `params`: the names of the path's capture groups, in order. */
const ROUTES: { method: string; path: RegExp; handler: Handler; params?: string[] }[] = [
  { method: "POST", path: /^\/api\/ai\/replicate$/, handler: createPrediction as Handler },
  { method: "GET", path: /^\/api\/ai\/replicate\/schema$/, handler: getSchema as Handler },
  { method: "POST", path: /^\/api\/ai\/replicate\/webhook$/, handler: receiveWebhook as Handler },
  { method: "GET", path: /^\/api\/ai\/replicate\/outputs\/([^/]+)$/, handler: getOutput as Handler, params: ["token"] },
  { method: "HEAD", path: /^\/api\/ai\/replicate\/outputs\/([^/]+)$/, handler: headOutput as Handler, params: ["token"] },
  {
    method: "GET",
    path: /^\/api\/ai\/replicate\/download\/([^/]+)\/([^/]+)$/,
    handler: downloadOutput as Handler,
    params: ["id", "index"],
  },
  { method: "GET", path: /^\/api\/ai\/replicate\/([^/]+)$/, handler: getPrediction as Handler, params: ["id"] },
  { method: "DELETE", path: /^\/api\/ai\/replicate\/([^/]+)$/, handler: deletePrediction as Handler, params: ["id"] },
];

export interface Answered {
  method: string;
  path: string;
  status: number;
}

export interface RouteServer {
  origin: string;
  answered: Answered[];
  close(): Promise<void>;
}

export async function startRouteServer(): Promise<RouteServer> {
  const answered: Answered[] = [];
  const server = createServer((req, res) => void serve(req, res, answered));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    answered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, answered: Answered[]): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
  const route = ROUTES.find((candidate) => candidate.method === req.method && candidate.path.test(url.pathname));
  if (!route) {
    answered.push({ method: req.method ?? "", path: url.pathname, status: 404 });
    res.writeHead(404).end();
    return;
  }
  // The client leaving aborts the request's signal, as Next.js does.
  const leaving = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) leaving.abort();
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers.set(name, value);
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    signal: leaving.signal,
    ...(hasBody ? { duplex: "half" } : {}),
  } as RequestInit);
  const match = route.path.exec(url.pathname)!;
  const params = Promise.resolve(
    Object.fromEntries((route.params ?? []).map((name, at) => [name, decodeURIComponent(match[at + 1])])),
  );
  const response = await route.handler(request, { params });
  answered.push({ method: req.method!, path: url.pathname, status: response.status });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) {
    res.end();
    return;
  }
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
    }
  } catch {
    // the client left mid-answer
  }
  res.end();
}
