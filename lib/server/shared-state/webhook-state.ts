import "server-only";
// What webhooks leave behind, shared by every instance: the webhook ids already processed (a
// retried delivery is processed once in total, whichever instance it lands on), the terminal
// predictions they delivered (so a status request on any instance is answered without a call to
// Replicate), and a "prediction ended" channel (so a webhook received by one instance ends a wait
// on another). The in-process implementations are `MemoryDeliveryIds`, `MemoryDeliveredPredictions` and
// `MemoryPredictionEvents`; all three are caches: Replicate stays the source of truth.

import { STORE_FRESH_MS } from "../shared-state/memory-deliveries";
import type { RedisConnection } from "./redis-connection";
import { isPrediction, isTerminal, type Prediction } from "../../shared/prediction";

export interface DeliveryIds {
  /** True the first time an id is offered (by any instance), false on every repeat. */
  firstTime(id: string): boolean | Promise<boolean>;
  /** A delivery whose processing failed: its retry is processed. */
  forget(id: string): void | Promise<void>;
}

export interface DeliveredPredictions {
  put(prediction: Prediction, now?: number): void | Promise<void>;
  /** A terminal prediction delivered recently, or undefined: then ask Replicate. */
  freshTerminal(id: string, now?: number): Prediction | undefined | Promise<Prediction | undefined>;
}

export interface PredictionEvents {
  /** Tells every instance's listeners that `prediction` (terminal) ended. */
  publishEnded(prediction: Prediction): Promise<void>;
  /** Calls `listener` with every ended prediction until the returned function is called. */
  onEnded(listener: (prediction: Prediction) => void): Promise<() => Promise<void>>;
}

/** Replicate retries a webhook for minutes at most; a day of ids is plenty and costs little. */
export const DELIVERY_ID_TTL_MS = 24 * 60 * 60 * 1000;
const ENDED_CHANNEL = "prediction-ended";

export class RedisDeliveryIds implements DeliveryIds {
  constructor(
    private readonly connection: RedisConnection,
    private readonly ttlMs = DELIVERY_ID_TTL_MS,
  ) {}

  async firstTime(id: string): Promise<boolean> {
    const answer = await this.connection.run((redis) => redis.set(this.key(id), "1", "PX", this.ttlMs, "NX"));
    return answer === "OK";
  }

  async forget(id: string): Promise<void> {
    await this.connection.run((redis) => redis.del(this.key(id)));
  }

  private key(id: string): string {
    return this.connection.key(`webhook-id:${id}`);
  }
}

/**
 * Only terminal predictions are kept: a late "start" webhook cannot hide a finished one. Freshness
 * is judged on the caller's `now` like `MemoryDeliveredPredictions`; the key's expiry only collects.
 */
export class RedisDeliveredPredictions implements DeliveredPredictions {
  constructor(
    private readonly connection: RedisConnection,
    private readonly freshMs = STORE_FRESH_MS,
  ) {}

  async put(prediction: Prediction, now = Date.now()): Promise<void> {
    if (!isTerminal(prediction)) return;
    const value = JSON.stringify({ storedAt: now, prediction });
    await this.connection.run((redis) => redis.set(this.key(prediction.id), value, "PX", this.freshMs));
  }

  async freshTerminal(id: string, now = Date.now()): Promise<Prediction | undefined> {
    const value = await this.connection.run((redis) => redis.get(this.key(id)));
    if (value === null) return undefined;
    const entry = parseEntry(value);
    if (!entry || now - entry.storedAt > this.freshMs || entry.prediction.id !== id) return undefined;
    return entry.prediction;
  }

  private key(id: string): string {
    return this.connection.key(`prediction:${id}`);
  }
}

function parseEntry(value: string): { storedAt: number; prediction: Prediction } | undefined {
  try {
    const entry = JSON.parse(value) as { storedAt?: unknown; prediction?: unknown };
    if (typeof entry.storedAt !== "number" || !isPrediction(entry.prediction) || !isTerminal(entry.prediction)) return undefined;
    return { storedAt: entry.storedAt, prediction: entry.prediction };
  } catch {
    return undefined;
  }
}

export class MemoryPredictionEvents implements PredictionEvents {
  private readonly listeners = new Set<(prediction: Prediction) => void>();

  async publishEnded(prediction: Prediction): Promise<void> {
    for (const listener of [...this.listeners]) listener(prediction);
  }

  async onEnded(listener: (prediction: Prediction) => void): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    return async () => {
      this.listeners.delete(listener);
    };
  }
}

/**
 * PUBLISH on the command connection, one SUBSCRIBE per process on the subscriber connection.
 * A message published while an instance is disconnected is lost to it: its waits then end by
 * polling, as they would without webhooks.
 */
export class RedisPredictionEvents implements PredictionEvents {
  constructor(private readonly connection: RedisConnection) {}

  async publishEnded(prediction: Prediction): Promise<void> {
    const channel = this.connection.key(ENDED_CHANNEL);
    await this.connection.run((redis) => redis.publish(channel, JSON.stringify(prediction)));
  }

  onEnded(listener: (prediction: Prediction) => void): Promise<() => Promise<void>> {
    return this.connection.subscribe(ENDED_CHANNEL, (message) => {
      let prediction: unknown;
      try {
        prediction = JSON.parse(message);
      } catch {
        return;
      }
      if (isPrediction(prediction)) listener(prediction);
    });
  }
}
