import "server-only";
import { luaScript, type RedisConnection } from "../shared-state/redis-connection";
import {
  counterKey,
  EARLY_SETTLE_MS,
  RECENT_COSTS,
  SETTLE_AFTER_WINDOW_MS,
  type BudgetScope,
  type ReserveDecision,
  type ScopeUsage,
  type SpendLedger,
} from "./spend-ledger";

/**
 * The spend ledger every instance shares: each step one Lua script, so two instances reserving
 * at once cannot both spend a budget's last seconds, and a prediction seen ending by two of them
 * is settled once. Counters and reservations expire with their window (plus a minute), so an
 * ended window costs nothing to keep. A reservation is a hash (`amount`, `counters`, the names of
 * the counters it was added to): this is for one Redis, not a cluster, as the rest of the shared state.
 */

/**
 * KEYS: counters..., reservation. ARGV: amount, now, keep (ms a reservation stays settleable past its
 * last window), then limit, reset time, window length and the counter's name without its window
 * start, per counter.
 */
const RESERVE = luaScript(`
local amount = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local n = #KEYS - 1
local used = {}
local refused = 0
for i = 1, n do
  used[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if refused == 0 and used[i] + amount > tonumber(ARGV[4 * i]) then refused = i end
end
if refused > 0 then
  table.insert(used, 1, refused)
  return used
end
local untilMs = now
local names = {}
local windows = {}
for i = 1, n do
  local resetAt = tonumber(ARGV[4 * i + 1])
  if resetAt > untilMs then untilMs = resetAt end
  used[i] = redis.call('INCRBY', KEYS[i], amount)
  redis.call('PEXPIREAT', KEYS[i], resetAt + 60000)
  names[i] = KEYS[i]
  windows[i] = {resetAt = resetAt, windowMs = tonumber(ARGV[4 * i + 2]), base = ARGV[4 * i + 3]}
end
redis.call('HSET', KEYS[n + 1], 'amount', amount, 'counters', table.concat(names, ' '), 'windows', cjson.encode(windows))
redis.call('PEXPIREAT', KEYS[n + 1], untilMs + tonumber(ARGV[3]) + 60000)
table.insert(used, 1, 0)
return used
`);

/**
 * KEYS: reservation (by its id), reservation (by the prediction's id), the prediction's early cost.
 * The early cost (a settlement seen before this bind), taken once, or -1.
 */
const BIND = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('RENAME', KEYS[1], KEYS[2])
local early = redis.call('GET', KEYS[3])
if not early then return -1 end
redis.call('DEL', KEYS[3])
return tonumber(early)
`);

/**
 * KEYS: reservation, the prediction's early cost (or none). ARGV: cost, now, the early cost's life
 * (ms). The reserved amount, or -1 when none was open (then the cost is kept for a bind still to
 * come). A counter whose
 * window has ended gets nothing back: the full cost goes to the counter of the window \`now\` is in.
 */
const SETTLE = luaScript(`
local amount = redis.call('HGET', KEYS[1], 'amount')
if not amount then
  if KEYS[2] then redis.call('SET', KEYS[2], ARGV[1], 'PX', tonumber(ARGV[3])) end
  return -1
end
local counters = redis.call('HGET', KEYS[1], 'counters') or ''
local encoded = redis.call('HGET', KEYS[1], 'windows')
local windows = encoded and cjson.decode(encoded) or {}
redis.call('DEL', KEYS[1])
local cost = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local delta = cost - tonumber(amount)
local i = 0
for name in string.gmatch(counters, '%S+') do
  i = i + 1
  local window = windows[i]
  if window and window.resetAt <= now then
    if cost > 0 then
      local start = math.floor(now / window.windowMs) * window.windowMs
      local current = window.base .. string.format('%.0f', start)
      redis.call('INCRBY', current, cost)
      redis.call('PEXPIREAT', current, start + window.windowMs + 60000)
    end
  elseif redis.call('EXISTS', name) == 1 then
    if redis.call('INCRBY', name, delta) < 0 then redis.call('SET', name, 0, 'KEEPTTL') end
  end
end
return tonumber(amount)
`);

export class RedisSpendLedger implements SpendLedger {
  constructor(
    private readonly connection: RedisConnection,
    private readonly namespace = "",
  ) {}

  async reserve(id: string, scopes: BudgetScope[], amountMs: number, now: number): Promise<ReserveDecision> {
    const keys = scopes.map((scope) => counterKey(scope, now));
    const base = (scope: BudgetScope) => this.key(`spend:${scope.key}:`);
    const args = [
      amountMs,
      now,
      SETTLE_AFTER_WINDOW_MS,
      ...scopes.flatMap((scope, i) => [scope.limitMs, keys[i].resetAt, scope.windowMs, base(scope)]),
    ];
    const answer = (await this.connection.run((redis) =>
      RESERVE(redis, [...keys.map((key) => this.key(key.name)), this.key(`spend:res:${id}`)], args),
    )) as number[];
    const [refused, ...used] = answer.map(Number);
    const usage = scopes.map((scope, i) => ({ usedMs: used[i], limitMs: scope.limitMs, resetAt: keys[i].resetAt }));
    return refused === 0 ? { ok: true, usage } : { ok: false, refused: refused - 1, usage };
  }

  async bind(id: string, predictionId: string, now: number): Promise<void> {
    const keys = [this.key(`spend:res:${id}`), this.key(`spend:pred:${predictionId}`), this.key(`spend:early:${predictionId}`)];
    const early = Number(await this.connection.run((redis) => BIND(redis, keys, [])));
    // Its end was seen first: settled now (the early cost was taken once, so by one binder only).
    if (early >= 0) await this.correct(`spend:pred:${predictionId}`, early, now);
  }

  async release(id: string, now: number): Promise<void> {
    await this.correct(`spend:res:${id}`, 0, now);
  }

  settle(predictionId: string, costMs: number, now: number): Promise<number | null> {
    return this.correct(`spend:pred:${predictionId}`, costMs, now, predictionId);
  }

  async usage(scopes: BudgetScope[], now: number): Promise<ScopeUsage[]> {
    if (scopes.length === 0) return [];
    const keys = scopes.map((scope) => counterKey(scope, now));
    const values = await this.connection.run((redis) => redis.mget(...keys.map((key) => this.key(key.name))));
    return scopes.map((scope, i) => ({ usedMs: Number(values[i] ?? 0), limitMs: scope.limitMs, resetAt: keys[i].resetAt }));
  }

  async recordCost(model: string, costMs: number): Promise<void> {
    const key = this.key(`spend:recent:${model}`);
    await this.connection.run((redis) =>
      redis
        .multi()
        .lpush(key, costMs)
        .ltrim(key, 0, RECENT_COSTS - 1)
        .exec(),
    );
  }

  async recentCosts(model: string): Promise<number[]> {
    const values = await this.connection.run((redis) => redis.lrange(this.key(`spend:recent:${model}`), 0, RECENT_COSTS - 1));
    return values.map(Number);
  }

  /** `earlyOf`: a settlement that finds no reservation keeps its cost under this prediction id, for its bind. */
  private async correct(name: string, costMs: number, now: number, earlyOf?: string): Promise<number | null> {
    const keys = earlyOf ? [this.key(name), this.key(`spend:early:${earlyOf}`)] : [this.key(name)];
    const amount = Number(await this.connection.run((redis) => SETTLE(redis, keys, [costMs, now, EARLY_SETTLE_MS])));
    return amount < 0 ? null : amount;
  }

  private key(name: string): string {
    return this.connection.key(this.namespace + name);
  }
}
