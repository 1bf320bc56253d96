import "server-only";
// `REPLICATE_RATE_LIMIT`: `<count>/<period>`, e.g. `10/min`, `1/s`, `100/h`, `30/5min`.
// Pure, so the configuration can parse it and tests need no clock.

export interface RateRule {
  /** Requests a client may start within `windowMs` (also the burst it may spend at once). */
  limit: number;
  windowMs: number;
  /** As written, for answers and logs. */
  text: string;
}

const UNIT_MS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
};

const RULE = /^(\d{1,9})\s*\/\s*(\d{0,6})\s*([a-z]{1,7})$/i;

/** The rule, or null when the text is not one. */
export function parseRateRule(text: string): RateRule | null {
  const match = RULE.exec(text.trim());
  if (!match) return null;
  const unitMs = unitToMs(match[3].toLowerCase());
  const limit = Number(match[1]);
  const periods = match[2] === "" ? 1 : Number(match[2]);
  if (unitMs === undefined || limit < 1 || periods < 1) return null;
  return { limit, windowMs: periods * unitMs, text: text.trim() };
}

/** `min`, `mins`, `minute`, `minutes`... A one-letter unit has no plural: `ms` is not `m`. */
function unitToMs(unit: string): number | undefined {
  if (Object.hasOwn(UNIT_MS, unit)) return UNIT_MS[unit];
  const singular = unit.slice(0, -1);
  return unit.length > 2 && unit.endsWith("s") && Object.hasOwn(UNIT_MS, singular) ? UNIT_MS[singular] : undefined;
}
