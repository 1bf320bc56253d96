import type { ProblemBody } from "./types";

/** Parsing of the two headers that change how a create behaves: `Prefer: wait` and `Cancel-After`. */

const MAX_WAIT_SECONDS = 60;
const MIN_CANCEL_AFTER_MS = 5_000;
const MAX_CANCEL_AFTER_MS = 24 * 3_600_000;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: ProblemBody };

/**
 * Seconds to hold the answer, or null when the header asks for no wait. `Prefer` may carry other
 * preferences (RFC 7240, comma separated); only `wait` / `wait=N` (N in 1..60) matters here.
 */
export function parsePreferWait(header: string | null): Parsed<number | null> {
  if (!header) return { ok: true, value: null };
  const wait = header
    .split(",")
    .map((part) => part.trim())
    .find((part) => part === "wait" || part.startsWith("wait="));
  if (wait === undefined) return { ok: true, value: null };
  if (wait === "wait") return { ok: true, value: MAX_WAIT_SECONDS };
  const seconds = /^wait=(\d{1,2})$/.exec(wait)?.[1];
  const n = seconds === undefined ? NaN : Number(seconds);
  if (n >= 1 && n <= MAX_WAIT_SECONDS) return { ok: true, value: n };
  return {
    ok: false,
    problem: {
      title: "Invalid Prefer header",
      detail: `Prefer: wait=N needs N between 1 and ${MAX_WAIT_SECONDS}, got "${wait}"`,
      status: 422,
    },
  };
}

/** Milliseconds from `Cancel-After` (`30s`, `5m`, `1h30m`, `90` = seconds), or null when absent. */
export function parseCancelAfter(header: string | null): Parsed<number | null> {
  if (header === null) return { ok: true, value: null };
  const ms = durationToMs(header.trim());
  if (ms !== null && ms >= MIN_CANCEL_AFTER_MS && ms <= MAX_CANCEL_AFTER_MS) return { ok: true, value: ms };
  return {
    ok: false,
    problem: {
      title: "Invalid Cancel-After header",
      detail: `Cancel-After must be a duration between 5s and 24h (e.g. 30s, 5m, 1h30m), got "${header}"`,
      status: 422,
    },
  };
}

function durationToMs(text: string): number | null {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1_000;
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(text)) return null;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  return total;
}
