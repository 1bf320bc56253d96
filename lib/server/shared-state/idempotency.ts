import "server-only";
// Idempotency records: a caller's `Idempotency-Key` → the create it started. `begin` decides
// atomically (one Lua script on Redis, one synchronous step in memory), so of two requests with
// the same key, racing on two instances, exactly one creates:
// - `new`: the caller owns the key and creates; then `complete` (a prediction exists) or
//   `abandon` (the create failed before any prediction existed, so a retry may create);
// - `in-progress`: another request is creating (answer 409 with Retry-After);
// - `created`: the same body was created already (answer that prediction);
// - `different-body`: the key was used with another body (answer 422).
//
// A finished record lives 24 h; one still "creating" only `CREATING_TTL_MS`, so a key whose
// creator died is free again instead of answering 409 for a day. Times are the caller's `now`.

import { createHash } from "node:crypto";
import { luaScript, type RedisConnection } from "./redis-connection";

export type IdempotencyBegin =
  | { kind: "new" }
  /** `left`: the creating request's client has gone; a retry waits for its prediction instead of a 409. */
  | { kind: "in-progress"; retryAfterMs: number; left: boolean }
  | { kind: "created"; predictionId: string }
  | { kind: "different-body" };

export interface IdempotencyStore {
  begin(key: string, bodyHash: string, now?: number): Promise<IdempotencyBegin>;
  /** The create made `predictionId`: later requests with the key and body answer it. */
  complete(key: string, predictionId: string, now?: number): Promise<void>;
  /** The create failed before a prediction existed: the key is free (a finished record is kept). */
  abandon(key: string): Promise<void>;
  /** The creating request's client went away (its connection dropped). */
  leave(key: string): Promise<void>;
  /** A repeat with the key follows the prediction: while one does, the creating request, if it left, need not cancel it. */
  attach(key: string): Promise<void>;
  /** A follower stopped following: how many still follow, and whether the creating request's client left. */
  detach(key: string): Promise<{ followers: number; left: boolean }>;
  /** Whether a repeat follows the prediction now (attached and not yet detached). */
  attached(key: string): Promise<boolean>;
}

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Longer than any create takes, pacing and retries included. */
export const CREATING_TTL_MS = 5 * 60 * 1000;
/** What `in-progress` suggests waiting: a create usually answers within a second or two. */
export const IN_PROGRESS_RETRY_MS = 1000;
export const MEMORY_MAX_RECORDS = 100_000;

/** The record's key: the caller's scope (its client key) and its Idempotency-Key, hashed to a fixed size. */
export function idempotencyKey(scope: string, key: string): string {
  return createHash("sha256").update(`${scope}\u0000${key}`).digest("hex");
}

/** The hash of a request body that `begin` compares. */
export function bodyHash(body: string | Uint8Array): string {
  return createHash("sha256").update(body).digest("hex");
}

interface MemoryRecord {
  bodyHash: string;
  state: "creating" | "created";
  predictionId?: string;
  createdAt: number;
  expiresAt: number;
  left?: boolean;
  followers?: number;
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly records = new Map<string, MemoryRecord>();

  constructor(private readonly maxRecords = MEMORY_MAX_RECORDS) {}

  async begin(key: string, hash: string, now = Date.now()): Promise<IdempotencyBegin> {
    const record = this.records.get(key);
    if (record && record.expiresAt > now)
      return decide(record.bodyHash, record.state, record.predictionId, hash, record.left === true);
    this.records.delete(key);
    this.records.set(key, { bodyHash: hash, state: "creating", createdAt: now, expiresAt: now + CREATING_TTL_MS });
    // A Map iterates in insertion order: the first key is the oldest record.
    while (this.records.size > this.maxRecords) this.records.delete(this.records.keys().next().value!);
    return { kind: "new" };
  }

  async complete(key: string, predictionId: string, now = Date.now()): Promise<void> {
    const record = this.records.get(key);
    if (!record) return;
    Object.assign(record, { state: "created", predictionId, expiresAt: now + IDEMPOTENCY_TTL_MS });
  }

  async abandon(key: string): Promise<void> {
    if (this.records.get(key)?.state === "creating") this.records.delete(key);
  }

  async leave(key: string): Promise<void> {
    const record = this.records.get(key);
    if (record) record.left = true;
  }

  async attach(key: string): Promise<void> {
    const record = this.records.get(key);
    if (record) record.followers = (record.followers ?? 0) + 1;
  }

  async detach(key: string): Promise<{ followers: number; left: boolean }> {
    const record = this.records.get(key);
    if (!record) return { followers: 0, left: true };
    record.followers = Math.max(0, (record.followers ?? 0) - 1);
    return { followers: record.followers, left: record.left === true };
  }

  async attached(key: string): Promise<boolean> {
    return (this.records.get(key)?.followers ?? 0) > 0;
  }
}

function decide(stored: string, state: string, predictionId: string | undefined, hash: string, left: boolean): IdempotencyBegin {
  if (stored !== hash) return { kind: "different-body" };
  if (state === "created" && predictionId) return { kind: "created", predictionId };
  return { kind: "in-progress", retryAfterMs: IN_PROGRESS_RETRY_MS, left };
}

// A hash per record; its expiry (real time) only collects, `expiresAt` (the callers' time) decides.
const BEGIN = luaScript(`
local now, hash, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local r = redis.call('HMGET', KEYS[1], 'bodyHash', 'state', 'predictionId', 'expiresAt', 'left')
if r[1] and tonumber(r[4]) > now then return {r[1], r[2], r[3] or '', r[5] or ''} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'bodyHash', hash, 'state', 'creating', 'createdAt', ARGV[1], 'expiresAt', string.format('%.17g', now + ttl))
redis.call('PEXPIRE', KEYS[1], ttl + 60000)
return {'new'}
`);

const COMPLETE = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'state', 'created', 'predictionId', ARGV[1], 'expiresAt', string.format('%.17g', tonumber(ARGV[2]) + ttl))
redis.call('PEXPIRE', KEYS[1], ttl + 60000)
return 1
`);

const ABANDON = luaScript(`
if redis.call('HGET', KEYS[1], 'state') == 'creating' then redis.call('DEL', KEYS[1]) end
return 0
`);

// Marks on a live record only: a record that expired or was abandoned is not brought back.
const MARK = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], '1') end
return 0
`);

// The followers of a live record: +1 on attach, -1 on detach (never below 0); answers {followers, left}.
const FOLLOW = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 1} end
local n = redis.call('HINCRBY', KEYS[1], 'followers', tonumber(ARGV[1]))
if n < 0 then redis.call('HSET', KEYS[1], 'followers', 0); n = 0 end
return {n, redis.call('HGET', KEYS[1], 'left') == '1' and 1 or 0}
`);

export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(private readonly connection: RedisConnection) {}

  async begin(key: string, hash: string, now = Date.now()): Promise<IdempotencyBegin> {
    const answer = (await this.connection.run((redis) =>
      BEGIN(redis, [this.key(key)], [now, hash, CREATING_TTL_MS]),
    )) as string[];
    if (answer[0] === "new") return { kind: "new" };
    return decide(answer[0], answer[1], answer[2] || undefined, hash, answer[3] === "1");
  }

  async leave(key: string): Promise<void> {
    await this.connection.run((redis) => MARK(redis, [this.key(key)], ["left"]));
  }

  async attach(key: string): Promise<void> {
    await this.connection.run((redis) => FOLLOW(redis, [this.key(key)], [1]));
  }

  async detach(key: string): Promise<{ followers: number; left: boolean }> {
    const [followers, left] = (await this.connection.run((redis) => FOLLOW(redis, [this.key(key)], [-1]))) as number[];
    return { followers, left: left === 1 };
  }

  async attached(key: string): Promise<boolean> {
    return Number((await this.connection.run((redis) => redis.hget(this.key(key), "followers"))) ?? 0) > 0;
  }

  async complete(key: string, predictionId: string, now = Date.now()): Promise<void> {
    await this.connection.run((redis) => COMPLETE(redis, [this.key(key)], [predictionId, now, IDEMPOTENCY_TTL_MS]));
  }

  async abandon(key: string): Promise<void> {
    await this.connection.run((redis) => ABANDON(redis, [this.key(key)], []));
  }

  private key(key: string): string {
    return this.connection.key(`idempotency:${key}`);
  }
}
