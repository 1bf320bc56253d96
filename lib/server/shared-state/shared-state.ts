import "server-only";
import { randomUUID } from "node:crypto";
import { MemoryRateLimitStore, type RateLimitStore } from "@/lib/server/guard/rate-limit";
import { CreatePacer } from "@/lib/server/replicate/create-policy";
import { predictionStore, SeenSet } from "@/lib/server/replicate/prediction-store";
import { CallBudget } from "@/lib/server/shared-state/call-budget";
import { RedisCreatePacing, type CreatePacing } from "@/lib/server/shared-state/create-pacing";
import { MemoryIdempotencyStore, RedisIdempotencyStore, type IdempotencyStore } from "@/lib/server/shared-state/idempotency";
import { MemoryLease, RedisLease, type Lease } from "@/lib/server/shared-state/lease";
import { MemoryPollShare, RedisPollShare, type PollShare } from "@/lib/server/shared-state/poll-share";
import { RedisRateLimitStore } from "@/lib/server/shared-state/rate-limit-store";
import { parseRedisConfig, REDIS_ENV_NAMES } from "@/lib/server/shared-state/redis-config";
import { RedisConnection } from "@/lib/server/shared-state/redis-connection";
import { RedisSpendLedger } from "@/lib/server/spend-guard/redis-spend-ledger";
import { MemorySpendLedger, type SpendLedger } from "@/lib/server/spend-guard/spend-ledger";
import {
  MemoryPredictionEvents,
  RedisDeliveredPredictions,
  RedisDeliveryIds,
  RedisPredictionEvents,
  type DeliveredPredictions,
  type DeliveryIds,
  type PredictionEvents,
} from "@/lib/server/shared-state/webhook-state";

/**
 * Every guarantee that spans requests, behind one object chosen once from configuration: with
 * REDIS_URL, Redis (shared by every instance on the account); without, this process's memory
 * (the single-instance default). Nothing connects until a piece is first used.
 */
export interface SharedState {
  readonly kind: "memory" | "redis";
  /** Per-client REPLICATE_RATE_LIMIT (pass to `setRateLimitStore`). */
  readonly rateLimits: RateLimitStore;
  /** The account's poll budget (one per rate; the same object on every call). */
  callBudget(perMinute: number): CallBudget;
  /** The account's create pacing after a 429. */
  createPacing(perMinute: number): CreatePacing;
  readonly deliveryIds: DeliveryIds;
  readonly deliveredPredictions: DeliveredPredictions;
  readonly predictionEvents: PredictionEvents;
  readonly idempotency: IdempotencyStore;
  lease(name: string): Lease;
  /** What every instance's poller waits for, and the lease holder's rounds. */
  readonly pollShare: PollShare;
  /** Model time reserved and settled against the spend guard's budgets. */
  readonly spend: SpendLedger;
  /** This process's name as a lease holder. */
  readonly instanceId: string;
  /** Closes the Redis connections, if any (tests, shutdown). */
  close(): Promise<void>;
}

export function memorySharedState(): SharedState {
  const rateLimits = new MemoryRateLimitStore();
  return buildState("memory", {
    rateLimits,
    createPacing: (perMinute) => new CreatePacer(perMinute),
    deliveryIds: new SeenSet(),
    // The store the status route already reads, so wiring one side first keeps both agreeing.
    deliveredPredictions: predictionStore,
    predictionEvents: new MemoryPredictionEvents(),
    idempotency: new MemoryIdempotencyStore(),
    lease: () => new MemoryLease(),
    pollShare: new MemoryPollShare(),
    spend: new MemorySpendLedger(),
    close: async () => undefined,
  });
}

export function redisSharedState(connection: RedisConnection): SharedState {
  return buildState("redis", {
    rateLimits: new RedisRateLimitStore(connection),
    createPacing: (perMinute) => new RedisCreatePacing(connection, perMinute),
    deliveryIds: new RedisDeliveryIds(connection),
    deliveredPredictions: new RedisDeliveredPredictions(connection),
    predictionEvents: new RedisPredictionEvents(connection),
    idempotency: new RedisIdempotencyStore(connection),
    lease: (name) => new RedisLease(connection, name),
    pollShare: new RedisPollShare(connection),
    spend: new RedisSpendLedger(connection),
    close: () => connection.close(),
  });
}

interface Parts extends Omit<SharedState, "kind" | "callBudget" | "createPacing" | "lease" | "instanceId"> {
  createPacing(perMinute: number): CreatePacing;
  lease(name: string): Lease;
}

function buildState(kind: SharedState["kind"], parts: Parts): SharedState {
  const budgets = new Map<number, CallBudget>();
  const pacings = new Map<number, CreatePacing>();
  const leases = new Map<string, Lease>();
  const once = <K, V>(cache: Map<K, V>, key: K, make: () => V): V => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key)!;
  };
  return {
    ...parts,
    kind,
    instanceId: randomUUID(),
    callBudget: (perMinute) => once(budgets, perMinute, () => new CallBudget(parts.rateLimits, perMinute)),
    createPacing: (perMinute) => once(pacings, perMinute, () => parts.createPacing(perMinute)),
    lease: (name) => once(leases, name, () => parts.lease(name)),
  };
}

type Env = Record<string, string | undefined>;
let current: { key: string; state: SharedState } | undefined;

/**
 * The process's shared state for the current REDIS_URL / REDIS_KEY_PREFIX, built on first call
 * (a malformed variable is a 500 problem naming it). A changed environment (tests) builds anew.
 */
export function getSharedState(env: Env = process.env): SharedState {
  const key = REDIS_ENV_NAMES.map((name) => env[name] ?? "").join("\u0000");
  if (current?.key !== key) {
    const config = parseRedisConfig(env);
    const previous = current?.state;
    const state = config.url ? redisSharedState(new RedisConnection({ url: config.url, keyPrefix: config.keyPrefix })) : memorySharedState();
    current = { key, state };
    void previous?.close();
  }
  return current.state;
}
