/**
 * What ran, from the prediction itself: the model and version, the seed the model used (models
 * pick one when none is given and say which in their logs, or in their output), and where to see
 * the prediction on replicate.com.
 */
import type { Prediction } from "@/lib/shared/prediction";

// Cog models print it in many ways: "Using seed: 1234", "seed=1234", "Random seed set to 1234".
const SEED_IN_LOGS = /\bseed(?:\s+set\s+to|\s+used)?\s*[:=]?\s*(-?\d{1,20})\b/i;

/** The seed the model reports: an output's `seed` field, else the first seed named in the logs. */
export function reportedSeed(logs: string | null | undefined, output: unknown): number | null {
  if (typeof output === "object" && output !== null && !Array.isArray(output)) {
    const seed = (output as Record<string, unknown>).seed;
    if (typeof seed === "number" && Number.isSafeInteger(seed)) return seed;
  }
  const match = typeof logs === "string" ? SEED_IN_LOGS.exec(logs) : null;
  const seed = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(seed) ? seed : null;
}

/** The prediction's page on replicate.com; null unless its `urls.web` is there (the simulator's is not real). */
export function replicatePageUrl(prediction: Pick<Prediction, "urls">, simulated: boolean): string | null {
  const web = prediction.urls?.web;
  if (simulated || typeof web !== "string" || !URL.canParse(web)) return null;
  const url = new URL(web);
  return url.protocol === "https:" && (url.hostname === "replicate.com" || url.hostname.endsWith(".replicate.com"))
    ? url.href
    : null;
}

/** A version id shortened as Replicate's pages show it (`5c7d5dc6`); null for none or one it hides. */
export function shortVersion(version: string | null | undefined): string | null {
  const id = version?.split(":").at(-1) ?? "";
  return /^[0-9a-f]{64}$/i.test(id) ? id.slice(0, 8) : null;
}
