import "server-only";
// The step between toModelInput and the create: file inputs too large to travel inline go through
// Replicate's Files API. Any data URL in the input (at any depth) whose decoded size is above
// REPLICATE_INLINE_MAX_BYTES (default 256 KiB, what Replicate's API reference allows inline) is
// uploaded and replaced by its file's `urls.get`; smaller ones stay data URLs. The bytes are
// decoded from the data URL in 48 KiB pieces as the upload sends them: no second whole copy.
//
// Uploaded files are deleted once their prediction has ended, so they do not pile up on the
// account: by the request that ran it (the JSON or stream answer; at once when the create fails),
// and by whoever later sees it ended (a GET, a webhook), which finds the files in the prediction's
// `input` (Replicate echoes it): no process has to remember them. An async prediction nobody
// follows keeps its files until Replicate expires them, 24 h after upload. The deletes run after
// the answer has been sent, through Next's `after()` (lib/server/after-answer.ts).

import { afterAnswer } from "../after-answer";
import type { Config } from "../config";
import { estimateDecodedBytes } from "../image";
import { logWarning } from "../log";
import { Problem } from "../problem";
import { invalidFieldsProblem } from "../validation";
import { clientGone } from "./create-policy";
import { deleteFile, fileIdOf, uploadFile } from "./files";
import type { RunOutcome } from "./run-prediction";
import type { CallStats } from "./transport";
import { isTerminal, type Prediction } from "../../shared/prediction";

export interface UploadedInputs {
  /** The input with each large data URL replaced by its file's URL. */
  input: Record<string, unknown>;
  /** The uploaded files' ids, to delete once the prediction has ended. */
  fileIds: string[];
}

type Path = (string | number)[];

const MAX_DEPTH = 32;
// A multiple of 4 base64 characters decodes on its own: 65,536 characters are 48 KiB.
const DECODE_CHARS = 65_536;
const DATA_URL_HEAD = /^data:([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+)?((?:;[^,;]*)*);base64,/i;

/**
 * The input as it is, or a 400 naming each field that holds a URL on Replicate's API origin (a
 * Files API file's `urls.get`): the only such URLs an input may carry are the ones this request's
 * own uploads put there. Another caller's file would be read by this caller's model, and deleted
 * when this prediction ends.
 */
export function refuseForeignFiles(config: Config, input: Record<string, unknown>): Record<string, unknown> {
  const api = new URL(config.baseUrl).origin;
  const found: string[] = [];
  const visit = (value: unknown, path: Path) => {
    if (typeof value === "string") {
      if (originOf(value) === api) found.push(path.map(String).join(".") || "input");
    } else if (typeof value === "object" && value !== null && path.length < MAX_DEPTH) {
      for (const [name, item] of Object.entries(value)) visit(item, [...path, name]);
    }
  };
  visit(input, []);
  if (found.length === 0) return input;
  throw invalidFieldsProblem(
    "Invalid input",
    "A URL on Replicate's API (a Files API file) is not accepted as an input: send the file itself (a data URL, or multipart), and the route uploads it.",
    found.map((field) => ({ field, description: "is a URL on Replicate's API; send the file itself" })),
  );
}

/** The origin of an absolute http(s) URL (host case and default port normalized), else null. */
function originOf(text: string): string | null {
  if (!/^\s*https?:/i.test(text)) return null;
  try {
    return new URL(text.trim()).origin;
  } catch {
    return null;
  }
}

/**
 * Uploads the input's large data URLs. The uploads stop when `signal` aborts (the caller left: a
 * 499) or at `deadline` (the cap: a 504); either way nothing is created and the files already
 * uploaded are deleted.
 */
export async function uploadLargeInputs(
  config: Config,
  input: Record<string, unknown>,
  options: { deadline: number; stats?: CallStats; signal?: AbortSignal },
): Promise<UploadedInputs> {
  const fileIds: string[] = [];
  const stop = new AbortController();
  const { clock } = config.engine;
  const cancelAtCap = clock.startTimer(options.deadline - clock.now(), () => stop.abort());
  const leave = () => stop.abort();
  if (options.signal?.aborted) stop.abort();
  options.signal?.addEventListener("abort", leave, { once: true });
  const callOptions = { deadline: options.deadline, stats: options.stats, signal: stop.signal };
  const replace = async (value: unknown, path: Path): Promise<unknown> => {
    if (typeof value === "string") {
      const head = DATA_URL_HEAD.exec(value.slice(0, 512));
      if (!head || estimateDecodedBytes(value) <= config.inlineMaxBytes) return value;
      const contentType = head[1]?.toLowerCase() ?? "application/octet-stream";
      const payloadAt = head[0].length;
      try {
        const file = await uploadFile(
          config,
          {
            chunks: () => decodedPieces(value, payloadAt),
            size: estimateDecodedBytes(value),
            contentType,
            filename: fileNameOf(path, contentType),
          },
          callOptions,
        );
        fileIds.push(file.id);
        return file.urls.get;
      } catch (error) {
        if (options.signal?.aborted) throw clientGone();
        if (stop.signal.aborted) throw uploadTimedOut(config, path);
        throw uploadProblem(path, error);
      }
    }
    if (path.length >= MAX_DEPTH) return value;
    if (Array.isArray(value)) {
      const items: unknown[] = [];
      for (const [index, item] of value.entries()) items.push(await replace(item, [...path, index]));
      return items;
    }
    if (typeof value === "object" && value !== null) {
      const entries: [string, unknown][] = [];
      for (const [name, item] of Object.entries(value)) entries.push([name, await replace(item, [...path, name])]);
      return Object.fromEntries(entries);
    }
    return value;
  };
  try {
    const uploaded = (await replace(input, [])) as Record<string, unknown>;
    if (options.signal?.aborted) throw clientGone();
    return { input: uploaded, fileIds };
  } catch (error) {
    deleteInputFiles(config, fileIds);
    throw error;
  } finally {
    cancelAtCap();
    options.signal?.removeEventListener("abort", leave);
  }
}

function uploadTimedOut(config: Config, path: Path): Problem {
  const field = path.map(String).join(".") || "input";
  return new Problem(
    504,
    "Prediction timed out",
    `The file in \`${field}\` was still uploading to Replicate's Files API at the cap of ${config.timeoutSeconds} s (REPLICATE_TIMEOUT_SECONDS); no prediction was created.`,
    { nothingCreated: true },
  );
}

/**
 * Runs `work` (a run or a create using `fileIds`) and deletes the files once it has ended: when it
 * fails, or its prediction ended (a run that stopped waiting without canceling leaves that to
 * whoever sees the end: `releaseInputFiles`). The deletes run after the answer.
 */
export async function deletingInputFilesAfter<T extends RunOutcome | Prediction>(
  config: Config,
  fileIds: readonly string[],
  work: Promise<T>,
): Promise<T> {
  if (fileIds.length === 0) return work;
  try {
    const result = await work;
    const ended = "kind" in result ? result.kind !== "detached" : isTerminal(result);
    if (ended) deleteInputFiles(config, fileIds);
    return result;
  } catch (error) {
    deleteInputFiles(config, fileIds);
    throw error;
  }
}

/** Deletes, after the answer, the Files API files an ended prediction's `input` names. */
export function releaseInputFiles(config: Config, prediction: Prediction): void {
  if (!isTerminal(prediction) || typeof prediction.input !== "object" || prediction.input === null) return;
  const ids: string[] = [];
  const visit = (value: unknown, depth: number) => {
    if (typeof value === "string") {
      const id = fileIdOf(config, value);
      if (id) ids.push(id);
    } else if (typeof value === "object" && value !== null && depth < MAX_DEPTH) {
      for (const item of Object.values(value)) visit(item, depth + 1);
    }
  };
  visit(prediction.input, 0);
  deleteInputFiles(config, ids);
}

// The engine's deletedInputFiles is a cache, not state: a repeat delete is harmless (404 counts as
// deleted), it only spares the call.
const DELETED_REMEMBERED = 10_000;
/** How long the deletes of one prediction's files may take after the answer. */
const DELETE_BUDGET_MS = 30_000;

/**
 * Deletes files after the answer (lib/server/after-answer.ts: the host keeps the function alive for
 * it), within DELETE_BUDGET_MS; a failure is logged (the file expires after 24 h anyway).
 */
export function deleteInputFiles(config: Config, fileIds: readonly string[]): void {
  const deleted = config.engine.deletedInputFiles;
  const ids = fileIds.filter((id) => !deleted.has(id));
  if (ids.length === 0) return;
  for (const id of ids) {
    deleted.add(id);
    if (deleted.size > DELETED_REMEMBERED) deleted.delete(deleted.values().next().value!);
  }
  afterAnswer(
    "delete input files",
    (signal) =>
      Promise.all(
        ids.map((id) =>
          deleteFile(config, id, { deadline: config.engine.clock.now() + DELETE_BUDGET_MS, signal }).catch((error: unknown) => {
            deleted.delete(id);
            logWarning("input_file_not_deleted", `File ${id}: ${error instanceof Problem ? error.detail : String(error)}`);
          }),
        ),
      ),
    { timeoutMs: DELETE_BUDGET_MS },
  );
}

function* decodedPieces(dataUrl: string, from: number): Generator<Uint8Array> {
  for (let at = from; at < dataUrl.length; at += DECODE_CHARS) {
    yield Buffer.from(dataUrl.slice(at, at + DECODE_CHARS), "base64");
  }
}

function fileNameOf(path: Path, contentType: string): string {
  const name =
    path
      .map(String)
      .join(".")
      .replace(/[^A-Za-z0-9_.-]/g, "_")
      .slice(0, 200) || "input";
  const subtype = contentType
    .split("/")[1]
    ?.replace(/[^a-z0-9]/gi, "")
    .slice(0, 10);
  return subtype ? `${name}.${subtype}` : name;
}

function uploadProblem(path: Path, error: unknown): Problem {
  const field = path.map(String).join(".") || "input";
  const cause = error instanceof Problem ? error.detail : "the upload failed";
  const throttled = error instanceof Problem && error.status === 429;
  const status = error instanceof Problem && error.status === 413 ? 413 : throttled ? 429 : 502;
  return new Problem(
    status,
    "Input file not uploaded",
    `The file in \`${field}\` could not be uploaded to Replicate's Files API, so no prediction was created: ${cause}`,
    {
      headers: throttled ? (error.headers ?? {}) : {},
      nothingCreated: true,
    },
  );
}
