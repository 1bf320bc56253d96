import "server-only";
// `REPLICATE_BUDGET_PER_CALLER` / `REPLICATE_BUDGET_TOTAL`: `<seconds>s/<minute|hour|day>`, e.g.
// `300s/day`. Pure, so the configuration can parse it and tests need no clock.

export type BudgetWindow = "minute" | "hour" | "day";

export interface BudgetRule {
  /** Model time (Replicate's `metrics.predict_time`) that may be spent within one window, in ms. */
  limitMs: number;
  window: BudgetWindow;
  windowMs: number;
  /** As written, for answers and logs. */
  text: string;
}

const WINDOW_MS: Record<BudgetWindow, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

const RULE = /^(\d{1,9}(?:\.\d{1,3})?)\s*s\s*\/\s*(minute|hour|day)$/i;

/** The rule, or null when the text is not one. */
export function parseBudgetRule(text: string): BudgetRule | null {
  const match = RULE.exec(text.trim());
  if (!match) return null;
  const limitMs = Math.round(Number(match[1]) * 1000);
  const window = match[2].toLowerCase() as BudgetWindow;
  if (limitMs < 1) return null;
  return { limitMs, window, windowMs: WINDOW_MS[window], text: text.trim() };
}

/**
 * The fixed window `now` falls in: windows are aligned on the epoch, so a `day` renews at
 * midnight UTC, an `hour` on the hour, on every instance alike.
 */
export function windowOf(rule: Pick<BudgetRule, "windowMs">, now: number): { start: number; end: number } {
  const start = Math.floor(now / rule.windowMs) * rule.windowMs;
  return { start, end: start + rule.windowMs };
}
