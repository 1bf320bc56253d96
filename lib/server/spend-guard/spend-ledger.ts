import "server-only";
// Where model time is counted: one interface, this process's memory here (the single-instance
// default) and Redis in redis-spend-ledger.ts (every instance on one count), chosen once by the
// shared state (lib/server/shared-state/shared-state.ts). Amounts are whole milliseconds of model
// time, so both sides count exactly.
//
// A budget is counted per fixed window (budget-rule.ts `windowOf`): a counter of the ms reserved
// and settled in it. A reservation adds its estimate to every counter it must fit in, or to none;
// it is kept under its own id, then under its prediction's id once the create answered, so
// whoever sees the prediction end (this request, a GET, a webhook, on any instance) settles it:
// its counters get the difference between what Replicate reports and the estimate, once; a
// counter whose window has ended since gets nothing back, and the full cost goes to the counter of
// the window the settlement falls in. A reservation never settled stands until its window ends,
// with its counters; it can still be settled for SETTLE_AFTER_WINDOW_MS after that.

import { windowOf } from "./budget-rule";

/** One budget a reservation must fit in: its counter's name, its limit and window. */
export interface BudgetScope {
  /** e.g. `caller:id:api-key`, `app`. */
  key: string;
  limitMs: number;
  windowMs: number;
}

/** A budget's state in the window `now` falls in. */
export interface ScopeUsage {
  usedMs: number;
  limitMs: number;
  /** Epoch ms at which the window ends and the budget is whole again. */
  resetAt: number;
}

export type ReserveDecision =
  | { ok: true; usage: ScopeUsage[] }
  /** `refused` is the index of the first scope the amount did not fit in; nothing was counted. */
  | { ok: false; refused: number; usage: ScopeUsage[] };

/** Settled predict times remembered per model, for the estimate. */
export const RECENT_COSTS = 5;

export interface SpendLedger {
  /** Counts `amountMs` in every scope, if it fits in all of them; kept as reservation `id`. */
  reserve(id: string, scopes: BudgetScope[], amountMs: number, now: number): Promise<ReserveDecision>;
  /** The create answered: reservation `id` is now found by its prediction's id (and settled at once if its end was seen first). */
  bind(id: string, predictionId: string, now: number): Promise<void>;
  /** Nothing was created: the whole reservation is given back. */
  release(id: string, now: number): Promise<void>;
  /** The prediction ended, costing `costMs`: its reservation, if still open, is corrected. The reserved ms, or null when none was open. */
  settle(predictionId: string, costMs: number, now: number): Promise<number | null>;
  usage(scopes: BudgetScope[], now: number): Promise<ScopeUsage[]>;
  /** A succeeded prediction's predict time, for the model's estimate. */
  recordCost(model: string, costMs: number): Promise<void>;
  /** The model's last RECENT_COSTS predict times, newest first. */
  recentCosts(model: string): Promise<number[]>;
}

/**
 * How long a settlement that found no reservation is kept for a bind still to come (a webhook of
 * an async prediction can arrive before its create's answer bound the reservation).
 */
export const EARLY_SETTLE_MS = 10 * 60 * 1000;

/** How long after its last window a reservation can still be settled (charged to the window it settles in). */
export const SETTLE_AFTER_WINDOW_MS = 24 * 60 * 60 * 1000;

export function counterKey(scope: Pick<BudgetScope, "key" | "windowMs">, now: number): { name: string; resetAt: number } {
  const window = windowOf(scope, now);
  return { name: `spend:${scope.key}:${window.start}`, resetAt: window.end };
}

interface Reservation {
  amountMs: number;
  counters: { name: string; resetAt: number; scope: Pick<BudgetScope, "key" | "windowMs"> }[];
  /** It can be settled until then (its last window's end and SETTLE_AFTER_WINDOW_MS). */
  until: number;
}

export class MemorySpendLedger implements SpendLedger {
  private readonly counters = new Map<string, { usedMs: number; resetAt: number }>();
  private readonly open = new Map<string, Reservation>();
  private readonly recent = new Map<string, number[]>();
  /** Costs settled before their reservation was bound, by prediction id. */
  private readonly early = new Map<string, { costMs: number; until: number }>();
  private sweptAt = -Infinity;

  async reserve(id: string, scopes: BudgetScope[], amountMs: number, now: number): Promise<ReserveDecision> {
    this.sweep(now);
    const keys = scopes.map((scope) => counterKey(scope, now));
    const usage = this.usageOf(scopes, keys);
    const refused = usage.findIndex((each) => each.usedMs + amountMs > each.limitMs);
    if (refused >= 0) return { ok: false, refused, usage };
    for (const { name, resetAt } of keys)
      this.counters.set(name, { usedMs: (this.counters.get(name)?.usedMs ?? 0) + amountMs, resetAt });
    const counters = keys.map((key, i) => ({ ...key, scope: { key: scopes[i].key, windowMs: scopes[i].windowMs } }));
    this.open.set(`res:${id}`, {
      amountMs,
      counters,
      until: Math.max(now, ...keys.map((key) => key.resetAt)) + SETTLE_AFTER_WINDOW_MS,
    });
    return { ok: true, usage: usage.map((each) => ({ ...each, usedMs: each.usedMs + amountMs })) };
  }

  async bind(id: string, predictionId: string, now: number): Promise<void> {
    const reservation = this.open.get(`res:${id}`);
    if (!reservation) return;
    this.open.delete(`res:${id}`);
    this.open.set(`pred:${predictionId}`, reservation);
    const early = this.early.get(predictionId);
    if (early && early.until > now) {
      this.early.delete(predictionId);
      this.correct(`pred:${predictionId}`, early.costMs, now);
    }
  }

  async release(id: string, now: number): Promise<void> {
    this.correct(`res:${id}`, 0, now);
  }

  async settle(predictionId: string, costMs: number, now: number): Promise<number | null> {
    const reserved = this.correct(`pred:${predictionId}`, costMs, now);
    if (reserved === null) this.early.set(predictionId, { costMs, until: now + EARLY_SETTLE_MS });
    return reserved;
  }

  async usage(scopes: BudgetScope[], now: number): Promise<ScopeUsage[]> {
    this.sweep(now);
    return this.usageOf(
      scopes,
      scopes.map((scope) => counterKey(scope, now)),
    );
  }

  async recordCost(model: string, costMs: number): Promise<void> {
    this.recent.set(model, [costMs, ...(this.recent.get(model) ?? [])].slice(0, RECENT_COSTS));
  }

  async recentCosts(model: string): Promise<number[]> {
    return this.recent.get(model) ?? [];
  }

  private correct(key: string, costMs: number, now: number): number | null {
    this.sweep(now);
    const reservation = this.open.get(key);
    if (!reservation) return null;
    this.open.delete(key);
    for (const { name, resetAt, scope } of reservation.counters) {
      if (resetAt > now) {
        const counter = this.counters.get(name);
        if (counter) counter.usedMs = Math.max(0, counter.usedMs + costMs - reservation.amountMs);
      } else if (costMs > 0) {
        // Its window has ended: the whole cost counts in the window it settles in.
        const current = counterKey(scope, now);
        this.counters.set(current.name, {
          usedMs: (this.counters.get(current.name)?.usedMs ?? 0) + costMs,
          resetAt: current.resetAt,
        });
      }
    }
    return reservation.amountMs;
  }

  private usageOf(scopes: BudgetScope[], keys: { name: string; resetAt: number }[]): ScopeUsage[] {
    return scopes.map((scope, i) => ({
      usedMs: this.counters.get(keys[i].name)?.usedMs ?? 0,
      limitMs: scope.limitMs,
      resetAt: keys[i].resetAt,
    }));
  }

  /**
   * Ended windows and the reservations that stood in them are forgotten (at most once a second: a
   * counter's name holds its window, so one not yet swept is never read as the current one).
   */
  private sweep(now: number): void {
    if (now - this.sweptAt < 1000) return;
    this.sweptAt = now;
    for (const [name, counter] of this.counters) if (counter.resetAt <= now) this.counters.delete(name);
    for (const [key, reservation] of this.open) if (reservation.until <= now) this.open.delete(key);
    for (const [key, early] of this.early) if (early.until <= now) this.early.delete(key);
  }
}
