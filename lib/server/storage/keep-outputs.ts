import "server-only";
// Keeping a succeeded prediction's output files before Replicate deletes them (an hour after the
// prediction ends). Every file in `output` (an http(s) URL on a file host or a data URL, in a
// string, an array or nested objects) is streamed to the output store under a key derived from
// the prediction id and its place in `output`, so a second call writes (or finds) the same
// objects. The answer carries the kept copies' URLs in `output`, in the same shape, and
// Replicate's own `output` beside it in `replicate_output`.
//
// A manifest (`<id>/manifest.json`) is written once every file is kept: later calls answer from it
// without copying again, even after Replicate has removed the prediction's data
// (`data_removed: true`, `output: null`). A copy that fails never fails the answer: it says
// `outputs_kept: false` with the reason and Replicate's URLs, and the next call tries again.
//
// Wiring: `prediction = await keepOutputs(prediction)` before a prediction is answered; with
// OUTPUT_STORAGE unset it returns the prediction as it is. A webhook delivery keeps them after its
// answer instead (`keepOutputsAfterAnswer`), so that Replicate gets its 2xx at once.

import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { z } from "zod";
import { afterAnswer } from "../after-answer";
import { logWarning } from "../log";
import { Problem } from "../problem";
import { CopyFailure, extensionOf, isDataUrl, isFileUrl, openOutputSource } from "./output-source";
import type { OutputStorage } from "./storage-config";
import { inSpan, noteBytesKept } from "../telemetry";
import { PREDICTION_ID, type Prediction } from "../../shared/prediction";

export interface KeptOutputFields {
  /** true: `output` holds the kept copies' URLs; false: Replicate's own, see `outputs_kept_error`. */
  outputs_kept?: boolean;
  /** Why the outputs were not kept (one sentence; no secret). */
  outputs_kept_error?: string;
  /** Replicate's `output` exactly as it sent it; present when `outputs_kept` is true. */
  replicate_output?: unknown;
}

export type KeptPrediction = Prediction & KeptOutputFields;

export interface KeepOptions {
  /** Where to keep them (the engine's `outputStorage`, called here so a configuration problem is an answer); absent or null: keep nothing. */
  storage?: OutputStorage | null | (() => OutputStorage | null);
  /** Starts the per-file timeout; returns its cancel. Tests inject a controllable one. */
  startTimer?: (ms: number, onTimeout: () => void) => () => void;
  /** Stops the copies (e.g. the client went away); the answer then says they were not kept. */
  signal?: AbortSignal;
}

type Path = (string | number)[];

interface OutputFile {
  path: Path;
  source: string;
  key: string;
}

const manifestSchema = z.object({
  version: z.literal(1),
  output: z.unknown(),
  files: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), key: z.string() })),
});
type Manifest = z.infer<typeof manifestSchema>;

const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 32;

const defaultTimer = (ms: number, onTimeout: () => void) => {
  const timer = setTimeout(onTimeout, ms);
  return () => clearTimeout(timer);
};

export async function keepOutputs(prediction: Prediction, options: KeepOptions = {}): Promise<KeptPrediction> {
  if (prediction.status !== "succeeded") return prediction;
  return inSpan("replicate.outputs.keep", { "replicate.prediction.id": prediction.id }, async (span) => {
    const kept = await keepSucceeded(prediction, options);
    if (kept.outputs_kept !== undefined) span.setAttribute("replicate.outputs.kept", kept.outputs_kept);
    return kept;
  });
}

async function keepSucceeded(prediction: Prediction, options: KeepOptions): Promise<KeptPrediction> {
  const { outputs_kept: _kept, outputs_kept_error: _error, replicate_output: _original, ...fresh } = prediction as KeptPrediction;
  const notKept = (reason: string): KeptPrediction => {
    logWarning("outputs_not_kept", `Prediction ${prediction.id}: ${reason}`);
    return { ...fresh, outputs_kept: false, outputs_kept_error: reason };
  };
  let storage: OutputStorage | null;
  try {
    storage = typeof options.storage === "function" ? options.storage() : (options.storage ?? null);
  } catch (error) {
    if (error instanceof Problem) return notKept(error.detail);
    throw error;
  }
  if (!storage) return prediction;
  if (!PREDICTION_ID.test(prediction.id)) return notKept("the prediction id cannot name stored files");

  const manifestKey = `${prediction.id}/manifest.json`;
  let manifest: Manifest | null;
  try {
    manifest = await readManifest(storage, manifestKey);
  } catch (error) {
    logWarning("outputs_store_failed", describe(error));
    return notKept("the output store could not be read (the server log has the cause)");
  }
  const answerKept = async (kept: Manifest): Promise<KeptPrediction> => {
    try {
      return { ...fresh, output: await withUrls(storage, kept), replicate_output: prediction.output, outputs_kept: true };
    } catch (error) {
      // E.g. no credentials to pre-sign with: the copies exist, the next call may sign them.
      logWarning("outputs_store_failed", describe(error));
      return notKept("the output store could not give the kept files' URLs (the server log has the cause)");
    }
  };
  if (manifest) return answerKept(manifest);

  const files = outputFiles(prediction.id, prediction.output, storage.sourceHosts);
  if (files.length === 0) {
    return prediction.data_removed === true
      ? notKept("Replicate removed this prediction's outputs before they were kept")
      : prediction;
  }
  const failures = (await eachLimited(files, storage.limits.concurrency, (file) => copyFile(file, storage, options))).filter(
    (reason): reason is string => reason !== null,
  );
  if (failures.length > 0) {
    return notKept(`${failures.length} of ${files.length} output files were not kept: ${failures[0]}`);
  }
  const written: Manifest = {
    version: 1,
    output: replaceFiles(prediction.output, files, (file) => file.key),
    files: files.map(({ path, key }) => ({ path, key })),
  };
  try {
    const body = Buffer.from(JSON.stringify(written));
    await storage.store.put(manifestKey, Readable.from([body]), { contentType: "application/json", size: body.length });
  } catch (error) {
    // The files are kept; without a manifest the next call finds them again by their keys.
    logWarning("outputs_store_failed", describe(error));
  }
  return answerKept(written);
}

/**
 * A webhook's prediction: its outputs kept after the answer has been sent (lib/server/after-answer.ts),
 * all of it within OUTPUT_COPY_TIMEOUT_SECONDS. What is not kept by then (a slow or failing file
 * host) is kept by the next delivery or read of the prediction, while Replicate still has the files.
 */
export function keepOutputsAfterAnswer(prediction: Prediction, options: KeepOptions = {}): void {
  if (prediction.status !== "succeeded") return;
  let storage: OutputStorage | null;
  try {
    storage = typeof options.storage === "function" ? options.storage() : (options.storage ?? null);
  } catch {
    return; // misconfigured: every read's answer says so (outputs_kept_error)
  }
  if (!storage) return;
  afterAnswer("keep outputs", (signal) => keepOutputs(prediction, { ...options, storage, signal }), {
    timeoutMs: storage.limits.timeoutMs,
  });
}

// ---- Finding the files, naming their copies ----------------------------------------------------

/** Every file in `output` with its place and its copy's key (`<id>/output.<place>.<ext>`). */
function outputFiles(id: string, output: unknown, hosts: readonly string[]): OutputFile[] {
  const files: OutputFile[] = [];
  const visit = (value: unknown, path: Path) => {
    if (typeof value === "string") {
      if (isDataUrl(value) || isFileUrl(value, hosts)) files.push({ path, source: value, key: keyOf(id, path, value) });
    } else if (Array.isArray(value) && path.length < MAX_DEPTH) {
      value.forEach((item, index) => {
        visit(item, [...path, index]);
      });
    } else if (typeof value === "object" && value !== null && path.length < MAX_DEPTH) {
      for (const [name, item] of Object.entries(value)) visit(item, [...path, name]);
    }
  };
  visit(output, []);
  return files;
}

// Kept names never hold `_`; every hashed name starts with it: two places never share a key.
const PLAIN_NAME = /^[A-Za-z0-9-]{1,64}$/;

function keyOf(id: string, path: Path, source: string): string {
  const places = path.map((part) =>
    typeof part === "number" || PLAIN_NAME.test(part) ? `.${part}` : `._${sha256(part).slice(0, 16)}`,
  );
  let name = `output${places.join("")}`;
  if (name.length > 110) name = `output._${sha256(JSON.stringify(path)).slice(0, 32)}`;
  const extension = extensionOf(source);
  return `${id}/${name}${extension ? `.${extension}` : ""}`;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** `output` with each file replaced; every other value (text, numbers, other URLs) as it was. */
function replaceFiles(
  output: unknown,
  files: readonly { path: Path }[],
  replacement: (file: { path: Path; key: string }) => unknown,
): unknown {
  const byPath = new Map(files.map((file) => [JSON.stringify(file.path), file]));
  const rebuild = (value: unknown, path: Path): unknown => {
    const file = byPath.get(JSON.stringify(path));
    if (file) return replacement(file as { path: Path; key: string });
    if (Array.isArray(value)) return value.map((item, index) => rebuild(item, [...path, index]));
    // fromEntries defines own properties, so a `__proto__` key stays a key.
    if (typeof value === "object" && value !== null)
      return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, rebuild(item, [...path, name])]));
    return value;
  };
  return rebuild(output, []);
}

async function withUrls(storage: OutputStorage, manifest: Manifest): Promise<unknown> {
  const urls = new Map(
    await Promise.all(manifest.files.map(async (file) => [file.key, await storage.store.url(file.key)] as const)),
  );
  return replaceFiles(manifest.output, manifest.files, (file) => urls.get(file.key));
}

async function readManifest(storage: OutputStorage, key: string): Promise<Manifest | null> {
  const body = await storage.store.read(key);
  if (!body) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MANIFEST_MAX_BYTES) {
      body.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  const parsed = manifestSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
  return parsed.success ? parsed.data : null;
}

// ---- Copying ------------------------------------------------------------------------------------------

/** Copies one file unless its copy exists; null when kept, else the reason it was not. */
async function copyFile(file: OutputFile, storage: OutputStorage, options: KeepOptions): Promise<string | null> {
  const { limits, store } = storage;
  const controller = new AbortController();
  const seconds = limits.timeoutMs / 1000;
  const stopTimer = (options.startTimer ?? defaultTimer)(limits.timeoutMs, () =>
    controller.abort(new CopyFailure(`a copy took longer than ${seconds} s (OUTPUT_COPY_TIMEOUT_SECONDS)`)),
  );
  // A signal that says why (a CopyFailure: the cap) gives its reason; any other, this one.
  const leave = () =>
    controller.abort(
      options.signal?.reason instanceof CopyFailure
        ? options.signal.reason
        : new CopyFailure("the copy was stopped before it ended"),
    );
  if (options.signal?.aborted) leave();
  options.signal?.addEventListener("abort", leave, { once: true });
  const stopped = new Promise<never>((_, reject) => {
    if (controller.signal.aborted) reject(controller.signal.reason);
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  stopped.catch(() => {});
  const copy = async () => {
    if (await store.head(file.key)) return;
    const source = await openOutputSource(file.source, {
      hosts: storage.sourceHosts,
      maxBytes: limits.maxBytes,
      signal: controller.signal,
    });
    try {
      let bytes = 0;
      const counted = Readable.from(
        (async function* () {
          for await (const chunk of source.body) {
            bytes += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
        })(),
      );
      await store.put(file.key, counted, { contentType: source.contentType, size: source.size, signal: controller.signal });
      noteBytesKept(bytes);
    } finally {
      source.body.destroy();
    }
  };
  try {
    // The race bounds the time even where a back end does not honour the signal.
    await Promise.race([copy(), stopped]);
    return null;
  } catch (error) {
    const cause = controller.signal.aborted ? controller.signal.reason : error;
    if (cause instanceof CopyFailure) return cause.message;
    logWarning("outputs_store_failed", describe(cause));
    return "the output store failed (the server log has the cause)";
  } finally {
    stopTimer();
    options.signal?.removeEventListener("abort", leave);
    if (!controller.signal.aborted) controller.abort();
  }
}

/** Runs `work` on every item, at most `limit` at once; the results in the items' order. */
async function eachLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 1000) : String(error).slice(0, 1000);
}
