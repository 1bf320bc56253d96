import "server-only";
// `GET /api/ai/replicate/download/{handle}/{index}`: one output file of a prediction, through the
// app, as an attachment named `<prediction id>-<index>.<ext>`. A page cannot save a file of
// Replicate's host itself (another origin: `<a download>` is ignored, CORS is not documented), so
// the app reads it for the page, with the bounds of an output copy: only from the output file
// hosts (OUTPUT_SOURCE_HOSTS), no credentials, at most OUTPUT_MAX_BYTES, within
// OUTPUT_COPY_TIMEOUT_SECONDS. A kept copy (OUTPUT_STORAGE) is read instead when there is one.
// The route checks the handle first: only the caller a prediction was made for gets its files.

import { Readable } from "node:stream";
import { Problem } from "../problem";
import { keepOutputs } from "./keep-outputs";
import { OUTPUTS_ROUTE_PATH } from "./fs-output-store";
import {
  CopyFailure,
  extensionOf,
  extensionOfType,
  isDataUrl,
  isFileUrl,
  openOutputSource,
  type OpenedSource,
} from "./output-source";
import type { CopySettings, OutputStorage } from "./storage-config";
import type { Prediction } from "../../shared/prediction";

export interface DownloadOptions {
  /** The request's signal: a client that leaves stops the read. */
  signal?: AbortSignal;
  /** Where outputs are kept (the engine's `outputStorage`); absent or null: read from Replicate. */
  storage?: OutputStorage | null | (() => OutputStorage | null);
  /** The file hosts and limits a read is bound by (the engine's `outputCopy`). */
  copy: CopySettings;
}

const MAX_DEPTH = 32;
// What the page shows as a file (lib/browser/output-view.ts): the same strings, in the same order.
const FILE_LIKE = /^(https?:\/\/|data:|\/api\/ai\/replicate\/outputs\/)\S*$/i;

/**
 * The file URLs of an output in the order the page lists them: depth first, every string that
 * looks like a file, whether or not its host may be read (so that indexes agree with the page).
 */
export function outputFileUrls(output: unknown): string[] {
  const urls: string[] = [];
  const visit = (value: unknown, depth: number) => {
    if (typeof value === "string") {
      if (FILE_LIKE.test(value)) urls.push(value);
    } else if (Array.isArray(value) && depth < MAX_DEPTH) {
      for (const item of value) visit(item, depth + 1);
    } else if (typeof value === "object" && value !== null && depth < MAX_DEPTH) {
      for (const item of Object.values(value)) visit(item, depth + 1);
    }
  };
  visit(output, 0);
  return urls;
}

/** The attachment's name: `<prediction id>-<index>.<ext>`, the extension from the URL, else the type. */
export function downloadFileName(id: string, index: number, source: string, contentType: string): string {
  const extension = (isDataUrl(source) ? "" : extensionOf(source)) || extensionOfType(contentType) || extensionOf(source);
  return `${id}-${index}${extension ? `.${extension}` : ""}`;
}

export async function downloadOutput(prediction: Prediction, index: number, options: DownloadOptions): Promise<Response> {
  if (prediction.status !== "succeeded") {
    throw new Problem(
      409,
      "No output to download",
      `The prediction is ${prediction.status}: only a succeeded prediction has output files.`,
    );
  }
  // Resolved here, not in keepOutputs: a broken storage configuration is this answer's 500.
  const storage = typeof options.storage === "function" ? options.storage() : (options.storage ?? null);
  const copy = options.copy;
  // One timer bounds the whole download: keeping the outputs first (when configured), then the read.
  const controller = new AbortController();
  const seconds = copy.limits.timeoutMs / 1000;
  const timer = setTimeout(
    () => controller.abort(new CopyFailure(`the download took longer than ${seconds} s (OUTPUT_COPY_TIMEOUT_SECONDS)`)),
    copy.limits.timeoutMs,
  );
  const leave = () => controller.abort(new CopyFailure("the client left"));
  options.signal?.addEventListener("abort", leave, { once: true });
  const done = () => {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", leave);
  };

  let kept: Awaited<ReturnType<typeof keepOutputs>>;
  try {
    kept = await keepOutputs(prediction, { storage, signal: controller.signal });
  } catch (error) {
    done();
    throw error;
  }
  const urls = outputFileUrls(kept.output);
  const source = urls[index];
  if (source === undefined) {
    done();
    const gone = kept.data_removed === true && urls.length === 0;
    throw new Problem(
      gone ? 410 : 404,
      gone ? "Output removed" : "No such output file",
      gone
        ? "Replicate deletes a prediction's output an hour after it ends, and this app kept no copy (OUTPUT_STORAGE)."
        : `The prediction has ${urls.length} output file${urls.length === 1 ? "" : "s"}; index ${index} is not one of them.`,
    );
  }

  let opened: OpenedSource;
  try {
    // A kept copy replaced Replicate's string at the same index; a string left as it was is the model's, whatever its host.
    const keptCopy = kept.outputs_kept === true && source !== outputFileUrls(kept.replicate_output)[index];
    opened = await openSource(source, storage, copy, keptCopy, controller.signal);
  } catch (error) {
    done();
    const cause = controller.signal.aborted ? controller.signal.reason : error;
    if (cause instanceof CopyFailure) throw new Problem(502, "Output file unavailable", `${capitalize(cause.message)}.`);
    throw cause;
  }
  opened.body.once("close", done);
  opened.body.once("error", done);
  const headers: Record<string, string> = {
    "Content-Type": opened.contentType,
    "Content-Disposition": `attachment; filename="${downloadFileName(prediction.id, index, source, opened.contentType)}"`,
    "Cache-Control": "private, no-store",
    // Model output is untrusted content on this app's origin (see serve-output.ts).
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
  };
  if (opened.size !== undefined) headers["Content-Length"] = String(opened.size);
  return new Response(Readable.toWeb(opened.body) as ReadableStream<Uint8Array>, { status: 200, headers });
}

async function openSource(
  source: string,
  storage: OutputStorage | null,
  copy: CopySettings,
  kept: boolean,
  signal: AbortSignal,
): Promise<OpenedSource> {
  if (source.startsWith(`${OUTPUTS_ROUTE_PATH}/`)) {
    // A kept copy on this app's disk: read it from the store, not over HTTP.
    const key = storage?.kind === "fs" ? storage.store.keyOfToken(source.slice(OUTPUTS_ROUTE_PATH.length + 1)) : null;
    const object = key === null || storage?.kind !== "fs" ? null : await storage.store.head(key);
    const body = object && key !== null && storage?.kind === "fs" ? await storage.store.read(key) : null;
    if (!object || !body) throw new CopyFailure("the kept copy of this file is gone");
    if (object.size > copy.limits.maxBytes) {
      body.destroy();
      throw new CopyFailure(`the file is ${object.size} bytes, above OUTPUT_MAX_BYTES (${copy.limits.maxBytes} bytes)`);
    }
    return { body, contentType: object.contentType, size: object.size };
  }
  // A kept copy in a bucket is served by the bucket's own URL: its host is this app's store, not the model's.
  // Only for a kept copy's own URL: a URL in the model's text on any host stays refused.
  const hosts =
    kept && storage?.kind === "s3" && URL.canParse(source) ? [...copy.sourceHosts, new URL(source).host] : copy.sourceHosts;
  if (!isDataUrl(source) && !isFileUrl(source, hosts)) {
    throw new Problem(
      403,
      "Not an output file host",
      "This output is a URL on a host the app does not read files from (OUTPUT_SOURCE_HOSTS).",
    );
  }
  return openOutputSource(source, { hosts, maxBytes: copy.limits.maxBytes, signal });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
