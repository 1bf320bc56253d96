/**
 * The caller's budget of model time as the route's answers report it, in the IETF RateLimit header
 * fields (draft-ietf-httpapi-ratelimit-headers):
 *   RateLimit-Policy: "caller";q=300;qu="model-seconds";w=86400
 *   RateLimit: "caller";r=212;t=5400
 * Every answer the page reads goes through `noteBudget` (route-answer.ts), so the budget line shows
 * the latest one. Absent headers (no budget set) leave nothing to show.
 */

export interface Budget {
  limitSeconds: number;
  remainingSeconds: number;
  /** The window's length in seconds (86400: a day). */
  windowSeconds: number;
  /** Epoch ms at which the budget is whole again. */
  renewsAt: number;
}

/** The `caller` budget (else the first one listed) of an answer's headers; null without them. */
export function parseBudget(headers: Headers | undefined, now = Date.now()): Budget | null {
  const policies = members(headers?.get("ratelimit-policy"));
  const states = members(headers?.get("ratelimit"));
  const name = policies.has('"caller"') ? '"caller"' : [...policies.keys()][0];
  const policy = name === undefined ? undefined : policies.get(name);
  const state = name === undefined ? undefined : states.get(name);
  if (!policy || !state || policy.get("qu") !== '"model-seconds"') return null;
  const [q, w, r, t] = [policy.get("q"), policy.get("w"), state.get("r"), state.get("t")].map(Number);
  if (![q, w, r, t].every(Number.isFinite)) return null;
  return { limitSeconds: q, windowSeconds: w, remainingSeconds: r, renewsAt: now + t * 1000 };
}

/** `"a";x=1;y=2, "b";x=3` as name -> parameters (a lenient reading of a structured-field List). */
function members(field: string | null | undefined): Map<string, Map<string, string>> {
  const parsed = new Map<string, Map<string, string>>();
  for (const member of (field ?? "").split(",")) {
    const [name, ...params] = member.trim().split(";");
    if (!name) continue;
    parsed.set(name.trim(), new Map(params.map((param) => param.trim().split("=") as [string, string])));
  }
  return parsed;
}

/** "today", "this hour"...: the window the page's line speaks of. */
export function windowWords(windowSeconds: number): string {
  if (windowSeconds === 86_400) return "today";
  if (windowSeconds === 3600) return "this hour";
  if (windowSeconds === 60) return "this minute";
  return `in ${windowSeconds} s`;
}

// ---- the latest budget the page has seen --------------------------------------------------------

let latest: Budget | null = null;
const listeners = new Set<() => void>();

/** Keeps the budget an answer reports (an answer without one leaves the last one shown). */
export function noteBudget(headers: Headers | undefined): void {
  const budget = parseBudget(headers);
  if (!budget) return;
  latest = budget;
  for (const listener of listeners) listener();
}

export function subscribeBudget(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function latestBudget(): Budget | null {
  return latest;
}
