import "server-only";
// REPLICATE_RATE_LIMIT shared by every instance: the same GCRA as `MemoryRateLimitStore` (one
// "full again at" timestamp a client), read and written by one Lua script, so two instances
// counting the same client at once cannot both spend its last request.
//
// Time is the caller's `now`, like the in-memory store (instances' clocks are NTP-synced; a skew
// only shifts a client's allowance by that skew). The key's expiry only collects idle clients.
//
// Hand-written rather than rate-limiter-flexible: its Redis limiters count fixed windows, which
// let a client spend twice its limit across a window's edge and answer a different retry time
// than the in-memory GCRA; GCRA is a dozen lines of Lua.

import type { RateDecision, RateLimitStore } from "../guard/rate-limit";
import type { RateRule } from "../guard/rate-rule";
import { luaScript, type RedisConnection } from "./redis-connection";

const GCRA = luaScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local fullAt = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if fullAt < now then fullAt = now end
if fullAt - now > burst then return string.format('%.17g', fullAt - burst - now) end
redis.call('SET', KEYS[1], string.format('%.17g', fullAt + interval), 'PX', math.ceil(fullAt + interval - now) + 1000)
return 'allowed'
`);

export class RedisRateLimitStore implements RateLimitStore {
  constructor(
    private readonly connection: RedisConnection,
    private readonly namespace = "rate:",
  ) {}

  async take(key: string, rule: RateRule, now: number): Promise<RateDecision> {
    const interval = rule.windowMs / rule.limit;
    const burst = rule.windowMs - interval;
    const answer = await this.connection.run((redis) =>
      GCRA(redis, [this.connection.key(this.namespace + key)], [now, interval, burst]),
    );
    return answer === "allowed" ? { allowed: true } : { allowed: false, retryAfterMs: Number(answer) };
  }
}
