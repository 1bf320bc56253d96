import "server-only";
// Where kept outputs live: one small interface, two back ends (the local filesystem served by this
// app, S3-compatible object storage), chosen once from OUTPUT_STORAGE (storage-config.ts).
// Objects are written once under a key derived from what they hold and never change, so every
// back end may tell clients to cache them forever.

import type { Readable } from "node:stream";

export interface PutOptions {
  contentType: string;
  /** The byte count when known in advance (a back end may check it or use it to pick an upload). */
  size?: number;
  /** Aborts the write; a write that fails or is aborted leaves no object behind. */
  signal?: AbortSignal;
}

export interface StoredObject {
  size: number;
  contentType: string;
  /** A strong validator of the content, quoted as an HTTP ETag. */
  etag: string;
}

export interface OutputStore {
  /** Streams `body` into the object `key`, replacing it whole (a reader never sees half an object). */
  put(key: string, body: Readable, options: PutOptions): Promise<void>;
  /** The object's description, or null when there is none. */
  head(key: string): Promise<StoredObject | null>;
  /** The object's bytes, or null when there is none. */
  read(key: string): Promise<Readable | null>;
  /** A URL a browser can load the object from (`<img src>`), without the route key. */
  url(key: string): Promise<string>;
}

/**
 * Keys are relative paths of safe segments (`abc123/output.0.png`): each segment starts with a
 * letter or digit and holds only letters, digits, `.`, `_` and `-`, so no key can name a parent
 * folder, an absolute path, a hidden file or a NUL byte, whatever the back end makes of it.
 */
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(?:\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,7}$/;

export function isStorageKey(key: string): boolean {
  return KEY.test(key);
}

export function checkStorageKey(key: string): string {
  if (!isStorageKey(key)) throw new Error(`Not a storage key: ${JSON.stringify(key.slice(0, 200))}.`);
  return key;
}

/** Objects never change once written: clients and CDNs may keep them for a year without asking again. */
export const IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable";
