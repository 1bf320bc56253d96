/**
 * `Retry-After` (RFC 9110): delay-seconds or an HTTP date. Read by the server's retry policy on
 * Replicate's answers and by the page on this app's own `202` and `429` answers.
 */

/** `Retry-After` in milliseconds (seconds, decimals accepted as axios-retry does, or an HTTP date); null when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now: number = Date.now()): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
