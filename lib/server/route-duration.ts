import "server-only";
// The one place that owns the rule between the cap (REPLICATE_TIMEOUT_SECONDS) and the routes'
// `maxDuration` (the longest a serverless host lets a request run). Next reads `maxDuration` as a
// literal in each route file, so it cannot be computed there: every route that waits on a
// prediction (`POST /api/ai/replicate`, `GET /api/ai/replicate/{handle}`) exports
// `maxDuration = ROUTE_MAX_DURATION_SECONDS`'s value (a test checks the files), and the first
// request warns, naming the files to change, when the configured cap does not fit it.

import { logWarning } from "./log";

/** The literal `maxDuration` of the routes that wait: the default cap (60 s) plus PAST_CAP_SECONDS. */
export const ROUTE_MAX_DURATION_SECONDS = 65;

/** The route files whose `maxDuration` this rule owns. */
export const WAITING_ROUTE_FILES = ["app/api/ai/replicate/route.ts", "app/api/ai/replicate/[id]/route.ts"] as const;

/**
 * What a request may take past its cap: the cancel (CANCEL_BUDGET_MS in create-policy.ts, 1 s)
 * and 4 s for the answer. Every phase before it (uploads, slot waits, the create, the wait, the
 * output copies) ends at the cap. A plain number: config.ts imports this module.
 */
export const PAST_CAP_SECONDS = 5;

/** The `maxDuration` a cap of `timeoutSeconds` needs. */
export function requiredMaxDuration(timeoutSeconds: number): number {
  return Math.ceil(timeoutSeconds + PAST_CAP_SECONDS);
}

/** A warning when the cap outlasts the routes' `maxDuration` (a paid answer would be cut off); null when it fits. */
export function capMisfit(timeoutSeconds: number, maxDuration = ROUTE_MAX_DURATION_SECONDS): string | null {
  const needed = requiredMaxDuration(timeoutSeconds);
  if (needed <= maxDuration) return null;
  return (
    `REPLICATE_TIMEOUT_SECONDS=${timeoutSeconds} needs maxDuration >= ${needed} s, but the routes export ${maxDuration}: ` +
    `on a serverless host a request past ${maxDuration} s is cut off, answer and cancel included. Set ` +
    `\`export const maxDuration = ${needed};\` in ${WAITING_ROUTE_FILES.join(" and ")} and ROUTE_MAX_DURATION_SECONDS in ` +
    `lib/server/route-duration.ts (within your host's limit), or lower REPLICATE_TIMEOUT_SECONDS to ${Math.floor(maxDuration - PAST_CAP_SECONDS)} or less.`
  );
}

/** Logs `capMisfit` once per configuration (config.ts calls it when it parses one). */
export function warnIfCapMisfits(timeoutSeconds: number): void {
  const misfit = capMisfit(timeoutSeconds);
  if (misfit) logWarning("cap_exceeds_max_duration", misfit);
}
