import "server-only";
// What webhooks delivered, kept in this process's memory: a bounded cache, not a database.
// With several instances a webhook lands on one of them; `GET /api/ai/replicate/{id}` on another
// finds nothing here and asks Replicate, so answers stay correct, only a call dearer.

import { isTerminal, type Prediction } from "../../shared/prediction";

export const STORE_MAX_ENTRIES = 1000;
/** Replicate deletes API predictions' data after an hour; older copies are not worth answering. */
export const STORE_FRESH_MS = 60 * 60 * 1000;

interface Entry {
  prediction: Prediction;
  storedAt: number;
}

export class MemoryDeliveredPredictions {
  private entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries = STORE_MAX_ENTRIES,
    private readonly freshMs = STORE_FRESH_MS,
  ) {}

  put(prediction: Prediction, now = Date.now()): void {
    this.entries.delete(prediction.id);
    this.entries.set(prediction.id, { prediction, storedAt: now });
    // A Map iterates in insertion order: the first key is the oldest.
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** A terminal prediction delivered recently, or undefined: then ask Replicate. */
  freshTerminal(id: string, now = Date.now()): Prediction | undefined {
    const entry = this.entries.get(id);
    if (!entry || now - entry.storedAt > this.freshMs || !isTerminal(entry.prediction)) return undefined;
    return entry.prediction;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** A bounded memory of what was already seen (webhook ids), oldest forgotten first. */
export class MemoryDeliveryIds {
  private seen = new Set<string>();

  constructor(private readonly maxEntries = 10_000) {}

  /** True the first time an id is offered, false on every repeat. */
  firstTime(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > this.maxEntries) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  forget(id: string): void {
    this.seen.delete(id);
  }
}
