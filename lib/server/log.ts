import "server-only";
// Structured logs: one JSON line per request and nothing else on the hot path. Every line goes
// through `redact`, so the token (or the route key, or the webhook secret) cannot reach the log
// even from the message of an unexpected error. Lines are written straight to stdout (info) and
// stderr (warn, error), those of one turn of the event loop in one write each: a crowd of answers
// ending together costs one write, not one per answer (a synchronous write to a pipe each, through
// Next's console wrappers: about 0.1 ms an answer in the crowd benchmark's profile).

export interface RequestLine {
  /** The request's OpenTelemetry trace id (32 hex), as exported; absent when nothing traces. */
  trace_id?: string;
  route: string;
  method: string;
  status: number;
  duration_ms: number;
  /** The prediction the request was about, once known. */
  prediction_id?: string;
  /** Poll rounds waited through. */
  polls: number;
  retries: number;
  /** HTTP requests sent to Replicate, retries included. */
  upstream_requests: number;
  /** 429 answers among them. */
  throttled?: number;
  /** Event-stream answers are logged when the stream ends; `duration_ms` covers the stream. */
  stream?: true;
  /** The cause of an unexpected error (its answer said only "Internal error"). */
  error?: string;
}

export function logRequest(line: RequestLine): void {
  write(line.status >= 500 ? "error" : "info", { event: "request", ...line });
}

/** A one-off operational warning (e.g. the route is open), same format. */
export function logWarning(event: string, message: string): void {
  write("warn", { event, message });
}

export type Level = "info" | "warn" | "error";

// The one piece of state the log keeps for the whole process, because the console is the
// process's: the secrets every engine configured (its token, route key, webhook and handle
// secrets, storage keys), so no line any of them writes can carry one. Very short values are left
// out (redacting "a" would mangle every line); the oldest are forgotten past a bound.
const secrets = new Set<string>();
const SECRETS_REMEMBERED = 64;

/** Adds values no log line may contain (engines call it when they resolve their settings). */
export function addSecrets(values: readonly (string | undefined)[]): void {
  for (const value of values) {
    const secret = value?.trim();
    if (!secret || secret.length < 6 || secrets.has(secret)) continue;
    secrets.add(secret);
    if (secrets.size > SECRETS_REMEMBERED) secrets.delete(secrets.values().next().value!);
  }
}

function write(level: Level, fields: Record<string, unknown>): void {
  const line = redact(JSON.stringify({ time: new Date().toISOString(), level, ...fields }), [...secrets]);
  destination(level, line);
}

/** Where finished lines go. */
export type LogDestination = (level: Level, line: string) => void;

/** The lines of this turn of the event loop, per stream, written together at its end. */
const queued: Record<"stdout" | "stderr", string[]> = { stdout: [], stderr: [] };
let flushQueued = false;
let flushesOnExit = false;

const batched: LogDestination = (level, line) => {
  queued[level === "info" ? "stdout" : "stderr"].push(line);
  if (!flushesOnExit) {
    flushesOnExit = true;
    process.once("exit", flushLog);
  }
  // A warning is rare, and often the last word of work a serverless host may freeze right after:
  // it goes out at once, with the lines before it.
  if (level === "warn") return flushLog();
  if (flushQueued) return;
  flushQueued = true;
  setImmediate(flushLog);
};

let destination: LogDestination = batched;

/**
 * Writes the lines not yet written, now. Runs at the end of each turn that logged, when a piece of
 * work handed to the host after the answer ends (after-answer.ts) and when the process exits (a
 * crash's own line included); a process killed outright loses at most that turn's.
 */
export function flushLog(): void {
  flushQueued = false;
  for (const name of ["stdout", "stderr"] as const) {
    if (queued[name].length === 0) continue;
    const text = `${queued[name].join("\n")}\n`;
    queued[name] = [];
    const stream = process[name];
    try {
      stream.write(text, (error) => ignoreWriteError(stream, error));
    } catch {
      // A file or a terminal may fail at once (a full disk): the lines are lost, the server is not.
    }
  }
}

/**
 * A log pipe that broke (EPIPE: the collector went away) must not take the server down: as
 * `console` does, the stream's error is then ignored unless someone else listens for it.
 */
function ignoreWriteError(stream: NodeJS.WriteStream, error: Error | null | undefined): void {
  if (error && stream.listenerCount("error") === 0) stream.once("error", () => undefined);
}

/**
 * Sends every line to `next` as it is written instead (no batching), or back to stdout and stderr
 * without one. The unit tests send them to `console` to read them (tests/support/log-to-console.ts).
 */
export function setLogDestination(next?: LogDestination): void {
  flushLog();
  destination = next ?? batched;
}

/**
 * Every occurrence of each secret replaced, in any form an upstream echo or an error message may
 * carry it: as written, in any letter case, percent-encoded (any of its bytes, either hex case),
 * JSON-escaped, and in base64 (standard or URL-safe, at any alignment, so also inside a longer
 * encoded text such as `Bearer <secret>` or a whole header block).
 */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (!secret) continue;
    const { pattern, literal, base64 } = formsOf(secret);
    // The pattern only when it can match: large texts (data URLs) are mostly neither.
    if (result.includes("%") || result.includes("\\") || literal.test(result)) result = result.replace(pattern, "[redacted]");
    for (const fragment of base64) if (result.includes(fragment)) result = result.split(fragment).join("[redacted]");
  }
  return result;
}

interface SecretForms {
  /** The secret with each character as itself, percent-encoded or JSON-escaped; case-insensitive. */
  pattern: RegExp;
  /** The secret as written, any case: a quick test whether the pattern is worth running. */
  literal: RegExp;
  /** The part of its base64 that does not depend on the bytes around it, for each alignment. */
  base64: string[];
}

const forms = new Map<string, SecretForms>();
/** Base64 fragments shorter than this could occur by chance in other text. */
const MIN_BASE64_FRAGMENT = 8;

function formsOf(secret: string): SecretForms {
  let known = forms.get(secret);
  if (known) return known;
  const charForms = [...secret].map((char) => {
    const alternatives = new Set([escapeRegExp(char), escapeRegExp(JSON.stringify(char).slice(1, -1))]);
    alternatives.add([...Buffer.from(char)].map((byte) => `%${hex(byte)}`).join(""));
    if (char.length === 1) alternatives.add(`\\\\u${hex(char.charCodeAt(0)).padStart(4, "0")}`);
    return `(?:${[...alternatives].join("|")})`;
  });
  const base64 = new Set<string>();
  {
    const bytes = Buffer.from(secret);
    for (let offset = 0; offset < 3; offset += 1) {
      const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
      // Characters made only of the secret's bits: from the first whole sextet after the offset
      // to the last whole sextet before its end.
      const fragment = encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6));
      if (fragment.length < MIN_BASE64_FRAGMENT) continue;
      base64.add(fragment);
      base64.add(fragment.replaceAll("+", "-").replaceAll("/", "_"));
    }
  }
  known = { pattern: new RegExp(charForms.join(""), "gi"), literal: new RegExp(escapeRegExp(secret), "i"), base64: [...base64] };
  // A handful of secrets in a process; the bound only guards against a caller passing many.
  if (forms.size > 100) forms.clear();
  forms.set(secret, known);
  return known;
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, "0");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
