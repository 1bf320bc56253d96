import "server-only";
// Route handlers have no body limit of their own, so the route counts bytes as they arrive, with
// or without `Content-Length`, and stops reading at the limit (413). A body must also arrive in
// time (408: a slow sender cannot hold an in-flight slot) and fit the process's body budget (503).
// (A `proxy.ts` would cut bodies at 10 MB silently; we answer instead.)
//
// The budget counts the bytes that have arrived, never what `Content-Length` declares: connections
// that declare large bodies and send nothing hold none of it (they are answered 408 at the time
// limit).
//
// Memory: a body is read into a list of the chunks as they came, joined once at the end (a buffer
// of the declared size is not allocated before its bytes arrive, for the same reason). The bytes
// are decoded once into text and dropped; the text is parsed once and dropped. A request so holds
// at most twice its body while it is read, and its parsed value (one copy) after.

import type { Release } from "../guard/in-flight";
import type { BodyBudget } from "./body-budget";
import { Problem } from "../problem";
import { invalidFieldsProblem } from "../validation";

/** The rules a route sets for reading a request's body. */
export interface BodyRules {
  /** The body must have arrived this long after reading began. */
  timeoutMs: number;
  /** The process's budget of body bytes (REPLICATE_BODY_BUDGET_BYTES). */
  budgetBytes: number;
  /** The engine's budget the bytes are counted on. */
  budget: BodyBudget;
}

interface HeldBody extends BodyRules {
  held: number;
  released: boolean;
  /** The body has been read to its end. */
  finished: boolean;
  /** Why the read was cut off, if it was (see BodyHold.cutOff). */
  cut?: Problem;
  /** Ends the read under way with a problem. */
  interrupt?: (problem: Problem) => void;
}

/** A request's body as the guards hold it. */
export interface BodyHold {
  /** Gives the body's bytes back to the budget: call it when the answer ends. */
  release: Release;
  /**
   * Ends the read of a body that has not arrived whole (at once if under way, else when it
   * starts) with `problem`; false, and nothing done, once the body has been read.
   */
  cutOff(problem: Problem): boolean;
}

const leases = new WeakMap<Request, HeldBody>();

/**
 * Sets the rules the body of `request` is read under; replicateRoute calls it for every request.
 * A request never passed here (a test calling a reader directly) is read without either rule.
 */
export function guardBody(request: Request, rules: BodyRules): BodyHold {
  const lease: HeldBody = { ...rules, held: 0, released: false, finished: false };
  leases.set(request, lease);
  return {
    release: () => {
      if (lease.released) return;
      lease.released = true;
      lease.budget.give(lease.held);
      lease.held = 0;
    },
    cutOff: (problem) => {
      if (lease.finished) return false;
      lease.cut ??= problem;
      lease.interrupt?.(problem);
      return true;
    },
  };
}

export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const text = await readBodyText(request, maxBytes);
  if (text.trim() === "") throw invalidBody('The body is empty; send a JSON object such as {"prompt": "..."}.');
  try {
    return JSON.parse(text);
  } catch {
    const type = request.headers.get("content-type");
    const hint = type && !/json/i.test(type) ? ` (it was sent as ${type.slice(0, 100)})` : "";
    throw invalidBody(`The body is not valid JSON${hint}.`);
  }
}

/**
 * The body as UTF-8 text, at most `maxBytes` of it (413 past that, naming `limitName`; 400 if not
 * UTF-8; 408 if it does not arrive in time; 503 past the process's body budget).
 */
export async function readBodyText(request: Request, maxBytes: number, limitName = "REPLICATE_MAX_BODY_BYTES"): Promise<string> {
  const bytes = await readAtMost(request, maxBytes, limitName);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalidBody("The body is not valid UTF-8 text.");
  }
}

async function readAtMost(request: Request, maxBytes: number, limitName: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const value of countedChunks(request, maxBytes, limitName)) {
    total += value.byteLength;
    chunks.push(value);
  }
  return joined(chunks, total);
}

/**
 * The body's chunks as they arrive, under the request's rules: at most `maxBytes` (413 naming
 * `limitName`, before a byte is read when `Content-Length` says so), within the body time limit
 * (408) and the process's body budget (503; each chunk counted as it arrives). Stopping early
 * (an exception or a `break` in the consumer) cancels the rest of the body.
 */
export async function* countedChunks(request: Request, maxBytes: number, limitName: string): AsyncGenerator<Uint8Array> {
  const declared = declaredLength(request.headers);
  if (declared !== null && declared > maxBytes) throw tooLarge(maxBytes, limitName);
  const lease = leases.get(request);
  if (lease?.cut) throw lease.cut;
  if (!request.body) {
    if (lease) lease.finished = true;
    return;
  }
  const count = (bytes: number) => {
    if (!lease || lease.released) return;
    lease.budget.take(bytes, lease.budgetBytes);
    lease.held += bytes;
  };

  const reader = request.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    if (lease) timer = setTimeout(() => reject(bodyTimeout(lease.timeoutMs)), lease.timeoutMs);
  });
  expired.catch(() => undefined);
  const cut = new Promise<never>((_, reject) => {
    if (lease) lease.interrupt = reject;
  });
  cut.catch(() => undefined);
  let total = 0;
  let done = false;
  try {
    for (;;) {
      const read = await Promise.race([reader.read(), expired, cut]);
      if (read.done) {
        done = true;
        if (lease) lease.finished = true;
        return;
      }
      const value = read.value;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge(maxBytes, limitName);
      count(value.byteLength);
      yield value;
    }
  } finally {
    clearTimeout(timer);
    if (lease) lease.interrupt = undefined;
    if (!done) reader.cancel().catch(() => undefined);
  }
}

/** `Content-Length` as a byte count, or null when absent or not one. */
function declaredLength(headers: Headers): number | null {
  const text = headers.get("content-length")?.trim();
  if (!text || !/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}

function joined(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  chunks.length = 0;
  return bytes;
}

function tooLarge(maxBytes: number, limitName: string): Problem {
  return new Problem(413, "Request body too large", `The body is larger than the limit of ${maxBytes} bytes (${limitName}).`);
}

function bodyTimeout(timeoutMs: number): Problem {
  return new Problem(
    408,
    "Request timeout",
    `The body did not arrive within ${timeoutMs / 1000} s (REPLICATE_BODY_TIMEOUT_SECONDS); send it again.`,
  );
}

export function invalidBody(detail: string): Problem {
  return invalidFieldsProblem("Invalid request body", detail, [{ field: "body", description: detail }]);
}
