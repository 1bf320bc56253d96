import "server-only";
import { luaScript, type RedisConnection } from "./redis-connection";

/**
 * A named lease: one holder at a time, e.g. the one instance that polls Replicate for all. The
 * holder calls `hold` every round with a TTL of about two rounds: it renews while it is the holder;
 * anyone else gets it only once it has expired, so when a holder dies or freezes another takes
 * over within about two rounds, and a frozen holder that wakes finds `hold` false and stops.
 * Expiry is judged on the callers' `now` (NTP-synced clocks); the Redis key's own expiry only
 * collects a lease nobody holds.
 */
export interface Lease {
  /** True when `holder` holds the lease for `ttlMs` from `now` (acquired or renewed). */
  hold(holder: string, ttlMs: number, now?: number): Promise<boolean>;
  /** Gives the lease up, if `holder` still holds it. */
  release(holder: string): Promise<void>;
}

export class MemoryLease implements Lease {
  private holder?: string;
  private expiresAt = 0;

  async hold(holder: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    if (this.holder !== undefined && this.holder !== holder && this.expiresAt > now) return false;
    this.holder = holder;
    this.expiresAt = now + ttlMs;
    return true;
  }

  async release(holder: string): Promise<void> {
    if (this.holder === holder) this.holder = undefined;
  }
}

// The value is "<expiresAt> <holder>"; the holder is anything after the first space.
const HOLD = luaScript(`
local now, ttl, holder = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local value = redis.call('GET', KEYS[1])
if value then
  local expiresAt, current = string.match(value, '^(%S+) (.*)$')
  if current ~= holder and tonumber(expiresAt) > now then return 0 end
end
redis.call('SET', KEYS[1], string.format('%.17g', now + ttl) .. ' ' .. holder, 'PX', ttl * 2 + 1000)
return 1
`);

const RELEASE = luaScript(`
local value = redis.call('GET', KEYS[1])
if value and string.match(value, '^%S+ (.*)$') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`);

export class RedisLease implements Lease {
  private readonly key: string;

  constructor(
    private readonly connection: RedisConnection,
    name: string,
  ) {
    this.key = connection.key(`lease:${name}`);
  }

  async hold(holder: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    return (await this.connection.run((redis) => HOLD(redis, [this.key], [now, ttlMs, holder]))) === 1;
  }

  async release(holder: string): Promise<void> {
    await this.connection.run((redis) => RELEASE(redis, [this.key], [holder]));
  }
}
