import "server-only";
// Reading one of Replicate's output files as a stream: an http(s) URL on an output file host
// (replicate.delivery; never the API host, and no token is ever sent), or a `data:` URL (sync
// mode inlines files of hundreds of KB). Bytes flow as they arrive, counted against the size cap,
// so a copy holds at most a few chunks in memory, never the whole file.

import { Readable, Transform, pipeline } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";

export class CopyFailure extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "CopyFailure";
  }
}

export interface OpenedSource {
  body: Readable;
  contentType: string;
  /** Known in advance for data URLs and answers with Content-Length. */
  size?: number;
}

export interface SourceOptions {
  /** Hosts files may be fetched from: `host`, `host:port`, `*.domain`. */
  hosts: readonly string[];
  maxBytes: number;
  signal: AbortSignal;
}

const MAX_REDIRECTS = 3;

export function isDataUrl(value: string): boolean {
  return value.slice(0, 5).toLowerCase() === "data:";
}

/** An http(s) URL whose host is one of `hosts`; any other string in `output` is not a file. */
export function isFileUrl(value: string, hosts: readonly string[]): boolean {
  if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) return false;
  return hostAllowed(new URL(value), hosts);
}

function hostAllowed(url: URL, hosts: readonly string[]): boolean {
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  const hostname = url.hostname.toLowerCase();
  const host = url.host.toLowerCase();
  return hosts.some((entry) =>
    entry.startsWith("*.") ? hostname.endsWith(entry.slice(1)) : entry === hostname || entry === host,
  );
}

export async function openOutputSource(source: string, options: SourceOptions): Promise<OpenedSource> {
  return isDataUrl(source) ? openDataUrl(source, options.maxBytes) : openFileUrl(source, options);
}

// ---- data: URLs ---------------------------------------------------------------------------------

// Base64 decodes 4 characters at a time: chunks of a multiple of 4 decode on their own.
const DECODE_CHARS = 64 * 1024;

function openDataUrl(source: string, maxBytes: number): OpenedSource {
  const comma = source.indexOf(",");
  if (comma === -1) throw new CopyFailure("the data URL has no comma");
  const params = source.slice(5, comma).split(";");
  const base64 = params.at(-1)?.toLowerCase() === "base64";
  if (base64) params.pop();
  const contentType = mediaType(params.join(";")) ?? "text/plain;charset=US-ASCII";
  let payload = source.slice(comma + 1);
  if (!base64) {
    let bytes: Buffer;
    try {
      bytes = Buffer.from(decodeURIComponent(payload));
    } catch {
      throw new CopyFailure("the data URL is not valid percent-encoding");
    }
    checkSize(bytes.length, maxBytes);
    return { body: Readable.from([bytes]), contentType, size: bytes.length };
  }
  if (/[^A-Za-z0-9+/=]/.test(payload)) payload = payload.replace(/\s+/g, "");
  if (/[^A-Za-z0-9+/=]/.test(payload)) throw new CopyFailure("the data URL is not valid base64");
  const unpadded = payload.replace(/=+$/, "").length;
  const size = Math.floor((unpadded * 3) / 4);
  checkSize(size, maxBytes);
  function* chunks() {
    for (let start = 0; start < payload.length; start += DECODE_CHARS)
      yield Buffer.from(payload.slice(start, start + DECODE_CHARS), "base64");
  }
  return { body: Readable.from(chunks()), contentType, size };
}

// ---- http(s) URLs ---------------------------------------------------------------------------------

async function openFileUrl(source: string, options: SourceOptions): Promise<OpenedSource> {
  let url = new URL(source);
  for (let hop = 0; ; hop += 1) {
    // Checked at every hop: a redirect cannot lead the copy to a host that is not a file host.
    if (!hostAllowed(url, options.hosts)) throw new CopyFailure(`${url.host} is not an output file host (OUTPUT_SOURCE_HOSTS)`);
    // No credentials: output files are public URLs, and the Replicate token goes to the API only.
    let response: Response;
    try {
      response = await fetch(url, { redirect: "manual", signal: options.signal, cache: "no-store", headers: { accept: "*/*" } });
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      throw new CopyFailure(`${url.host} could not be reached${typeof code === "string" ? ` (${code})` : ""}`);
    }
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      if (hop === MAX_REDIRECTS) throw new CopyFailure(`more than ${MAX_REDIRECTS} redirects`);
      url = new URL(location, url);
      continue;
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      const gone =
        response.status === 404 || response.status === 410 ? " (Replicate removes outputs an hour after a prediction ends)" : "";
      throw new CopyFailure(`${url.host} answered ${response.status}${gone}`);
    }
    // fetch decodes a compressed answer, so its Content-Length then counts other bytes.
    const declared = response.headers.has("content-encoding") ? null : response.headers.get("content-length");
    const size = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
    if (size !== undefined && size > options.maxBytes) {
      await response.body.cancel();
      checkSize(size, options.maxBytes);
    }
    const contentType = mediaType(response.headers.get("content-type") ?? "") ?? contentTypeOfPath(url.pathname);
    const counted = pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      byteLimit(options.maxBytes),
      () => {},
    );
    return { body: counted, contentType, size };
  }
}

/** Passes bytes through and fails the stream the moment they exceed `maxBytes` (no Content-Length needed). */
function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes) return done(new CopyFailure(`the file is larger than OUTPUT_MAX_BYTES (${maxBytes} bytes)`));
      done(null, chunk);
    },
  });
}

function checkSize(size: number, maxBytes: number): void {
  if (size > maxBytes) throw new CopyFailure(`the file is ${size} bytes, above OUTPUT_MAX_BYTES (${maxBytes} bytes)`);
}

// ---- media types and file extensions ----------------------------------------------------------

const MEDIA_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  avif: "image/avif",
  svg: "image/svg+xml",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  wav: "audio/wav",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  flac: "audio/flac",
  json: "application/json",
  txt: "text/plain",
  pdf: "application/pdf",
  zip: "application/zip",
  glb: "model/gltf-binary",
};

const EXTENSIONS: Record<string, string> = Object.fromEntries(
  Object.entries(MEDIA_TYPES)
    .filter(([extension]) => extension !== "jpeg")
    .map(([extension, type]) => [type, extension]),
);

/** A well-formed media type (parameters kept), or null. */
function mediaType(value: string): string | null {
  const trimmed = value.trim();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;\s*[a-z0-9_.-]+=[a-z0-9_.+-]+)*$/i.test(trimmed) &&
    trimmed.length <= 200
    ? trimmed
    : null;
}

function contentTypeOfPath(pathname: string): string {
  const extension = /\.([a-z0-9]{1,8})$/i.exec(pathname)?.[1].toLowerCase();
  return (extension && MEDIA_TYPES[extension]) || "application/octet-stream";
}

/**
 * The file extension of a source, known without fetching it (so a copy's key is known before the
 * copy): the URL path's extension, or the data URL's media type. Empty when neither says.
 */
export function extensionOf(source: string): string {
  if (isDataUrl(source)) {
    const type = source
      .slice(5, Math.max(5, source.indexOf(",")))
      .split(";")[0]
      .toLowerCase();
    return EXTENSIONS[type] ?? "";
  }
  const path = URL.canParse(source) ? new URL(source).pathname : "";
  return /\.([a-z0-9]{1,8})$/i.exec(path)?.[1].toLowerCase() ?? "";
}

/** The usual file extension of a media type (parameters ignored); empty when it has none here. */
export function extensionOfType(contentType: string): string {
  return EXTENSIONS[contentType.split(";")[0].trim().toLowerCase()] ?? "";
}
