import "server-only";
// Replicate's Files API: upload (`POST /files`, multipart), delete (`DELETE /files/{id}`). One
// function an endpoint. An upload is not idempotent (a retry after a 5xx or a lost answer could
// leave a second file on the account), so, like a create, it is retried only after a 429. Files
// are at most 100 MiB and expire after 24 h by themselves; a file's `urls.get` is an input only
// for predictions of the same account.

import { Readable } from "node:stream";
import type { Config } from "../config";
import { Problem } from "../problem";
import { retryWaitMs, type FailedAttempt, type RetryContext } from "./retry-policy";
import { callReplicate, type CallStats } from "./transport";
import { readFile, type ReplicateFile } from "../../shared/replicate-objects";

export const FILES_MAX_BYTES = 100 * 1024 * 1024;
const MAX_UPLOAD_RETRIES = 5;
const FILE_ID = /^[A-Za-z0-9_-]{1,100}$/;

export interface UploadSource {
  /** The file's bytes, yielded in pieces (never one whole extra copy). */
  chunks: () => Iterable<Uint8Array>;
  size: number;
  contentType: string;
  filename: string;
}

export interface FileCallOptions {
  deadline: number;
  stats?: CallStats;
  /** Aborts the call (an upload: the caller left, or the cap was reached; a delete: its after-answer bound passed). */
  signal?: AbortSignal;
}

export async function uploadFile(config: Config, source: UploadSource, options: FileCallOptions): Promise<ReplicateFile> {
  if (source.size > FILES_MAX_BYTES) {
    throw new Problem(
      413,
      "File too large",
      `A file input may be at most ${FILES_MAX_BYTES} bytes (Replicate's Files API limit).`,
    );
  }
  const boundary = `----replicate-next-route-${crypto.randomUUID()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\n${source.contentType}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="filename"\r\n\r\n${source.filename}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="content"; filename="${source.filename}"\r\n` +
      `Content-Type: ${source.contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const answer = await callReplicate<ReplicateFile>(config, {
    method: "POST",
    path: "/files",
    upload: {
      contentType: `multipart/form-data; boundary=${boundary}`,
      length: head.length + source.size + tail.length,
      open: () => Readable.from(parts(head, source, tail), { objectMode: false }),
    },
    idempotent: false,
    retry: planUploadRetry,
    deadline: options.deadline,
    // The caller's signal ends it at the cap (file-inputs.ts); this only bounds a call made without one.
    signal: options.signal,
    timeoutMs: 120_000,
    accept: (data) => readFile(data) !== null,
    stats: options.stats,
  });
  return answer.data;
}

/** Deletes a file; one already gone (404) counts as deleted. */
export async function deleteFile(config: Config, id: string, options: FileCallOptions): Promise<void> {
  if (!FILE_ID.test(id)) throw new Error(`Not a file id: ${JSON.stringify(id.slice(0, 80))}`);
  try {
    await callReplicate(config, {
      method: "DELETE",
      path: `/files/${id}`,
      idempotent: true,
      // 204 has no body: any 2xx answer is the deletion.
      accept: () => true,
      timeoutMs: 10_000,
      ...options,
    });
  } catch (error) {
    if (error instanceof Problem && error.status === 404) return;
    throw error;
  }
}

/** A file id from a Files API URL on the configured base URL (`{base}/files/{id}[/...]`), else null. */
export function fileIdOf(config: Config, url: string): string | null {
  const prefix = `${config.baseUrl}/files/`;
  if (!url.startsWith(prefix)) return null;
  const id = url.slice(prefix.length).split(/[/?#]/, 1)[0];
  return FILE_ID.test(id) ? id : null;
}

function planUploadRetry(failure: FailedAttempt, context: RetryContext): number | null {
  if (failure.status !== 429 || context.attempt > MAX_UPLOAD_RETRIES) return null;
  const wait = retryWaitMs(failure, context);
  return context.now + wait > context.deadline ? null : wait;
}

function* parts(head: Uint8Array, source: UploadSource, tail: Uint8Array): Generator<Uint8Array> {
  yield head;
  yield* source.chunks();
  yield tail;
}
