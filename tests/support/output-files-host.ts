/**
 * A stand-in for replicate.delivery on loopback: serves the files a test registers, records every
 * request (path and headers). Replicate's file host is public: it
 * needs no token and must never receive one.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type FileHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface FilesHost {
  origin: string;
  /** `url("/a.png")` = `${origin}/a.png`. */
  url(path: string): string;
  serve(path: string, handler: FileHandler): void;
  /** Serves `bytes` with a Content-Length. */
  file(path: string, bytes: Buffer, contentType: string): void;
  requests: { path: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export async function startFilesHost(): Promise<FilesHost> {
  const handlers = new Map<string, FileHandler>();
  const requests: FilesHost["requests"] = [];
  const server = createServer((request, response) => {
    const path = request.url ?? "/";
    requests.push({ path, headers: request.headers });
    const handler = handlers.get(path);
    if (!handler) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    void Promise.resolve(handler(request, response)).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const host: FilesHost = {
    origin,
    url: (path) => `${origin}${path}`,
    serve: (path, handler) => void handlers.set(path, handler),
    file: (path, bytes, contentType) =>
      handlers.set(path, (_request, response) => {
        response.writeHead(200, { "content-type": contentType, "content-length": String(bytes.length) }).end(bytes);
      }),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return host;
}

/** Writes `total` bytes of a repeating pattern in 64 KiB chunks, honouring backpressure. */
export async function writePattern(response: ServerResponse, from: number, to: number): Promise<void> {
  const chunk = patternChunk();
  for (let offset = from; offset < to; offset += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, to - offset));
    if (!response.write(piece)) await new Promise<void>((resolve) => response.once("drain", resolve));
  }
}

export function patternChunk(): Buffer {
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i += 1) chunk[i] = (i * 31 + 7) & 0xff;
  return chunk;
}
