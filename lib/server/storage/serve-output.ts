import "server-only";
// `GET /api/ai/replicate/outputs/{token}`: a kept output file of the fs store. The token is the
// capability (output-url-signer.ts); anything this app never issued is a 404 problem, exactly like
// a file that is gone, so a URL cannot be probed. Objects never change: a strong ETag (their
// SHA-256) answers `If-None-Match` with 304, and clients may cache them for a year. Model output
// is untrusted content on this app's origin: `nosniff` and a sandboxing CSP keep an HTML or SVG
// file from running script here (an `<img>` of it still shows).

import { Readable } from "node:stream";
import { Problem } from "../problem";
import { IMMUTABLE_CACHE_CONTROL } from "./output-store";
import type { OutputStorage } from "./storage-config";

export async function serveKeptOutput(request: Request, token: string, storage: OutputStorage | null): Promise<Response> {
  if (storage?.kind !== "fs") throw notIssued();
  const key = storage.store.keyOfToken(token);
  const object = key === null ? null : await storage.store.head(key);
  if (key === null || object === null) throw notIssued();
  const headers: Record<string, string> = {
    ETag: object.etag,
    "Cache-Control": IMMUTABLE_CACHE_CONTROL,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
  };
  if (etagMatches(request.headers.get("if-none-match"), object.etag)) return new Response(null, { status: 304, headers });
  headers["Content-Type"] = object.contentType;
  headers["Content-Length"] = String(object.size);
  if (request.method === "HEAD") return new Response(null, { status: 200, headers });
  const body = await storage.store.read(key);
  if (!body) throw notIssued();
  return new Response(Readable.toWeb(body) as ReadableStream<Uint8Array>, { status: 200, headers });
}

/** `If-None-Match` (RFC 9110): `*` or a list of tags, compared weakly (a `W/` prefix still matches). */
function etagMatches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

function notIssued(): Problem {
  return new Problem(404, "Not found", "No kept output file has this URL.");
}
