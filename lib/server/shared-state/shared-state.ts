import "server-only";
import { randomUUID } from "node:crypto";
import { MemoryRateLimitStore, type RateLimitStore } from "../guard/rate-limit";
import { MemoryDeliveredPredictions, MemoryDeliveryIds } from "./memory-deliveries";
import { CallBudget } from "./call-budget";
import { MemoryCreatePacing, RedisCreatePacing, type CreatePacing } from "./create-pacing";
import { MemoryIdempotencyStore, RedisIdempotencyStore, type IdempotencyStore } from "./idempotency";
import { MemoryLease, RedisLease, type Lease } from "./lease";
import { MemoryPollShare, RedisPollShare, type PollShare } from "./poll-share";
import { RedisRateLimitStore } from "./rate-limit-store";
import { DEFAULT_KEY_PREFIX } from "./redis-config";
import { RedisConnection } from "./redis-connection";
import { RedisSpendLedger } from "../spend-guard/redis-spend-ledger";
import { MemorySpendLedger, type SpendLedger } from "../spend-guard/spend-ledger";
import {
  MemoryPredictionEvents,
  RedisDeliveredPredictions,
  RedisDeliveryIds,
  RedisPredictionEvents,
  type DeliveredPredictions,
  type DeliveryIds,
  type PredictionEvents,
} from "./webhook-state";

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
    createPacing: (perMinute) => new MemoryCreatePacing(perMinute),
    deliveryIds: new MemoryDeliveryIds(),
    deliveredPredictions: new MemoryDeliveredPredictions(),
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

/**
 * How an engine's stores are given: absent or "memory", this process's memory (one instance);
 * `{ redis }`, a Redis URL or an open connection shared by every instance; or a SharedState built
 * already (two engines given the same one share everything it holds).
 */
export type StoresOption = "memory" | { redis: string | RedisConnection; keyPrefix?: string } | SharedState;

export function sharedStateFor(option: StoresOption | undefined): SharedState {
  if (option === undefined || option === "memory") return memorySharedState();
  if ("kind" in option) return option;
  const connection =
    typeof option.redis === "string"
      ? new RedisConnection({ url: option.redis, keyPrefix: option.keyPrefix ?? DEFAULT_KEY_PREFIX })
      : option.redis;
  return redisSharedState(connection);
}
