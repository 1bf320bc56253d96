import "server-only";
// Account-wide create pacing after a 429: "creates are paced until T, the next free slot is S",
// the state `MemoryCreatePacing` keeps in one process, kept in Redis so every instance takes its slot
// from the same sequence. One script reads and reserves, so two instances never get one slot.
// The in-process implementation is `MemoryCreatePacing` below.

import { luaScript, type RedisConnection } from "./redis-connection";

export interface CreatePacing {
  /** Milliseconds to wait before sending a create, not earlier than `notBefore`; reserves that slot. */
  reserve(now: number, notBefore?: number): number | Promise<number>;
  /** Replicate throttled a create and asked for `retryAfterMs`: pace from now on. */
  throttled(retryAfterMs: number, now: number): void | Promise<void>;
}

/** Creates stay paced for a minute after the last 429 (both implementations). */
export const PACED_FOR_MS = 60_000;

const FORMAT = "local function fmt(n) return string.format('%.17g', n) end\n";

// The hash expires once pacing and every reserved slot are over: an idle account starts unpaced.
const RESERVE = luaScript(`${FORMAT}
local now, notBefore, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local pacedUntil = tonumber(redis.call('HGET', KEYS[1], 'pacedUntil') or '0')
if now >= pacedUntil and notBefore <= now then return '0' end
local slot = math.max(now, notBefore, tonumber(redis.call('HGET', KEYS[1], 'nextSlot') or '0'))
redis.call('HSET', KEYS[1], 'nextSlot', fmt(slot + interval))
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(pacedUntil, slot + interval) - now) + 1000)
return fmt(slot - now)
`);

const THROTTLED = luaScript(`${FORMAT}
local now, retryAfter, pacedFor = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local nextSlot = math.max(tonumber(redis.call('HGET', KEYS[1], 'nextSlot') or '0'), now + retryAfter)
redis.call('HSET', KEYS[1], 'pacedUntil', fmt(now + pacedFor), 'nextSlot', fmt(nextSlot))
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(pacedFor, nextSlot - now)) + 1000)
return 'ok'
`);

/**
 * How long an instance trusts what it last read of "is the account paced?" before asking again:
 * an unpaced create (the common case) then costs no round trip, and a crowd of them one read. A
 * 429 on another instance reaches this one within this long; a create sent meanwhile may draw its
 * own 429, which paces it (pacing is a cache of timing: Replicate still says no).
 */
export const PACED_CHECK_MS = 500;

export class RedisCreatePacing implements CreatePacing {
  private readonly key: string;
  private check?: { at: number; pacedUntil: Promise<number> };

  constructor(
    private readonly connection: RedisConnection,
    private readonly perMinute: number,
  ) {
    this.key = connection.key("account:create-pacing");
  }

  async reserve(now: number, notBefore = now): Promise<number> {
    if (notBefore <= now && now >= (await this.pacedUntil(now))) return 0;
    const wait = await this.connection.run((redis) => RESERVE(redis, [this.key], [now, notBefore, 60_000 / this.perMinute]));
    return Number(wait);
  }

  async throttled(retryAfterMs: number, now: number): Promise<void> {
    // Paced here at once, whatever the last read said.
    this.check = { at: now, pacedUntil: Promise.resolve(now + PACED_FOR_MS) };
    await this.connection.run((redis) => THROTTLED(redis, [this.key], [now, retryAfterMs, PACED_FOR_MS]));
  }

  /** The account's "paced until", read at most once per PACED_CHECK_MS (concurrent callers share the read). */
  private pacedUntil(now: number): Promise<number> {
    if (this.check && now - this.check.at < PACED_CHECK_MS) return this.check.pacedUntil;
    const pacedUntil = this.connection.run((redis) => redis.hget(this.key, "pacedUntil")).then((value) => Number(value ?? 0));
    const check = { at: now, pacedUntil };
    this.check = check;
    // A failed read is not kept: the next create asks again.
    pacedUntil.catch(() => this.check === check && (this.check = undefined));
    return pacedUntil;
  }
}

/** One process's pacing (no REDIS_URL): the same sequence, in memory. */
export class MemoryCreatePacing implements CreatePacing {
  private pacedUntil = 0;
  private nextSlot = 0;

  constructor(private readonly perMinute: number) {}

  /** Milliseconds to wait before sending a create, not earlier than `notBefore`; reserves that slot. */
  reserve(now: number, notBefore = now): number {
    if (now >= this.pacedUntil && notBefore <= now) return 0;
    const slot = Math.max(now, notBefore, this.nextSlot);
    this.nextSlot = slot + 60_000 / this.perMinute;
    return slot - now;
  }

  /** Replicate throttled a create and asked for `retryAfterMs`: pace from now on. */
  throttled(retryAfterMs: number, now: number): void {
    this.pacedUntil = now + PACED_FOR_MS;
    this.nextSlot = Math.max(this.nextSlot, now + retryAfterMs);
  }
}
