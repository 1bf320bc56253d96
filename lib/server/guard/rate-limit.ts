import "server-only";
// REPLICATE_RATE_LIMIT per client: a client is the authenticated identity, else the IP address.
// Counted with GCRA (a token bucket kept as one timestamp a client): a client may spend `limit`
// requests at once, then one every `windowMs / limit`.
//
// The store is an interface, the shared state's (lib/server/shared-state): with REDIS_URL every
// instance counts on Redis, so a client gets its limit in total, not once per instance; without,
// this process's memory. `setRateLimitStore` plugs in another (a database; a fresh one in tests).

import { isIP } from "node:net";
import type { GuardConfig } from "../config";
import type { Caller } from "./access";
import type { RateRule } from "./rate-rule";
import { Problem } from "../problem";

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export interface RateLimitStore {
  /** Counts one request of `key` under `rule` at `now` (epoch ms), if it is allowed. */
  take(key: string, rule: RateRule, now: number): RateDecision | Promise<RateDecision>;
}

/** Clients remembered at most; past it the least recently seen are forgotten (they start afresh). */
export const MEMORY_STORE_MAX_CLIENTS = 100_000;
const SWEEP_EVERY_TAKES = 1_000;

export class MemoryRateLimitStore implements RateLimitStore {
  /** Per key, the "theoretical arrival time": when the client's bucket is full again. */
  private readonly fullAt = new Map<string, number>();
  private takes = 0;

  constructor(private readonly maxClients = MEMORY_STORE_MAX_CLIENTS) {}

  take(key: string, rule: RateRule, now: number): RateDecision {
    const interval = rule.windowMs / rule.limit;
    const burst = rule.windowMs - interval;
    const fullAt = Math.max(this.fullAt.get(key) ?? now, now);
    if (fullAt - now > burst) return { allowed: false, retryAfterMs: fullAt - burst - now };
    // Delete then set: a Map iterates in insertion order, so the first key is the least recently seen.
    this.fullAt.delete(key);
    this.fullAt.set(key, fullAt + interval);
    this.evict(now);
    return { allowed: true };
  }

  get size(): number {
    return this.fullAt.size;
  }

  /** A client whose bucket is full again is the same as one never seen: forget it. */
  private evict(now: number): void {
    this.takes += 1;
    if (this.takes % SWEEP_EVERY_TAKES === 0 || this.fullAt.size > this.maxClients) {
      for (const [key, fullAt] of this.fullAt) if (fullAt <= now) this.fullAt.delete(key);
    }
    for (const key of this.fullAt.keys()) {
      if (this.fullAt.size <= this.maxClients) break;
      this.fullAt.delete(key);
    }
  }
}

/** Throws 429 with Retry-After when the client has spent its allowance (counted on `store`). */
export async function enforceRateLimit(key: string, rule: RateRule, store: RateLimitStore, now: number): Promise<void> {
  const decision = await store.take(key, rule, now);
  if (decision.allowed) return;
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  throw new Problem(
    429,
    "Too many requests",
    `This client has used its allowance of ${rule.text} (REPLICATE_RATE_LIMIT); try again in ${seconds} s.`,
    { headers: { "Retry-After": String(seconds) } },
  );
}

// ---- who the client is -------------------------------------------------------------------------

/**
 * The authenticated identity, else the IP address. Route handlers do not see the socket, so the
 * address comes from `x-forwarded-for`, which any client can write: it is read only when
 * TRUST_PROXY says how many proxies in front of the app append to it, and then only the entry the
 * outermost of them wrote. Without it, anonymous callers cannot be told apart and share one
 * allowance (the limit then caps the whole process's anonymous use).
 */
export function clientKey(headers: Headers, caller: Caller, config: Pick<GuardConfig, "trustProxyHops">): string {
  if (caller.identity !== null) return `id:${caller.identity}`;
  const address = config.trustProxyHops > 0 ? forwardedAddress(headers.get("x-forwarded-for"), config.trustProxyHops) : null;
  return address === null ? "ip:unknown" : `ip:${address}`;
}

/** The address `hops` entries from the right of x-forwarded-for, normalized; null if it is not one. */
export function forwardedAddress(header: string | null, hops: number): string | null {
  if (!header) return null;
  const entries = header.split(",");
  const entry = entries[Math.max(0, entries.length - hops)].trim();
  return normalizeAddress(entry);
}

function normalizeAddress(text: string): string | null {
  const address = text.replace(/^\[(.*)\](:\d+)?$/, "$1").replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, "$1");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped && isIP(mapped[1]) === 4) return mapped[1];
  const version = isIP(address);
  if (version === 4) return address;
  // One IPv6 subscriber usually holds a whole /64: counting per address would let it rotate freely.
  if (version === 6) return `${ipv6Groups(address).slice(0, 4).join(":")}::/64`;
  return null;
}

/** The eight 16-bit groups of a valid IPv6 address, `::` expanded, leading zeros dropped. */
function ipv6Groups(address: string): string[] {
  const withoutZone = address.split("%")[0].toLowerCase();
  const [head, tail] = withoutZone.includes("::") ? withoutZone.split("::") : [withoutZone, undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  // An embedded IPv4 tail (::1.2.3.4) takes two groups; only the first four groups are kept anyway.
  const width = (groups: string[]) => groups.reduce((sum, group) => sum + (group.includes(".") ? 2 : 1), 0);
  const zeros = tail === undefined ? [] : Array(8 - width(left) - width(right)).fill("0");
  return [...left, ...zeros, ...right].map((group) => (group.includes(".") ? group : parseInt(group, 16).toString(16)));
}
