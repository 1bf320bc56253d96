import "server-only";
// The spend guard: budgets of model time (what Replicate bills public models for, its
// `metrics.predict_time`) per caller and for the whole app, REPLICATE_BUDGET_PER_CALLER and
// REPLICATE_BUDGET_TOTAL. Reserve, then settle: before the uploads and the create, a request
// reserves an estimate of its prediction's cost (the median predict time of the model's last few
// settled predictions, else REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS; never more than a budget it
// must fit in), or is answered 402 with nothing uploaded or created. Whoever sees the prediction
// end (the request itself, a GET of it, its webhook, on any instance) settles the reservation with
// what Replicate reports. The counts live in the shared state's ledger (spend-ledger.ts): Redis
// with REDIS_URL (unreachable: 503, nothing created), else this process's memory.
//
// The hooks into the request path: `reserveSpend` (the POST, after its body is valid and its
// Idempotency-Key is not a replay), `settleSpend` (wherever a prediction is seen ending) and
// `budgetHeaders` (the answers that start or read a prediction). With no budget set every one of
// them returns at once.

import { randomUUID } from "node:crypto";
import type { Config, GuardConfig } from "../config";
import type { Caller } from "../guard/access";
import { clientKey } from "../guard/rate-limit";
import { freedOnFailure } from "../freed-on-failure";
import { logWarning } from "../log";
import { Problem } from "../problem";
import { SharedStateUnavailable } from "../shared-state/redis-connection";
import type { BudgetRule } from "./budget-rule";
import type { SpendConfig } from "./spend-config";
import type { BudgetScope, ScopeUsage, SpendLedger } from "./spend-ledger";
import { isTerminal, type Prediction } from "../../shared/prediction";

/** What a prediction cost, as Replicate reports it: `onPrediction` gets it for the app's own ledger. */
export interface PredictionCost {
  /** Model seconds billed (`metrics.predict_time`; 0 for a prediction that never started). */
  seconds: number;
  /** `seconds` times REPLICATE_PRICE_PER_SECOND, when it is set. */
  dollars?: number;
}

/** The two budgets' names in answers: `RateLimit` policy ids and the 402's `budget.scope`. */
type ScopeName = "caller" | "app";
interface NamedScope extends BudgetScope {
  name: ScopeName;
  rule: BudgetRule;
}

/** The engine's ledger: its stores' (Redis with REDIS_URL, else its memory). */
function ledger(config: Config): SpendLedger {
  return config.engine.shared().spend;
}

/** True when a budget is set: else the guard does nothing at all. */
export function spendGuardOn(spend: SpendConfig): boolean {
  return spend.perCaller !== undefined || spend.total !== undefined;
}

function scopesOf(spend: SpendConfig, callerKey: string): NamedScope[] {
  const scopes: NamedScope[] = [];
  if (spend.perCaller)
    scopes.push({
      name: "caller",
      rule: spend.perCaller,
      key: `caller:${callerKey}`,
      limitMs: spend.perCaller.limitMs,
      windowMs: spend.perCaller.windowMs,
    });
  if (spend.total)
    scopes.push({ name: "app", rule: spend.total, key: "app", limitMs: spend.total.limitMs, windowMs: spend.total.windowMs });
  return scopes;
}

function callerKeyOf(request: Request, caller: Caller | undefined, guard: GuardConfig): string {
  return clientKey(request.headers, caller ?? { identity: null }, guard);
}

/** Which model's predict times estimate the next one. */
function modelKey(config: Config): string {
  const { target } = config;
  return target.kind === "version" ? `version:${target.version}` : `${target.kind}:${target.owner}/${target.name}`;
}

// ---- reserve --------------------------------------------------------------------------------

/** A request's reservation: hand it the work before the create, the create, and each state seen. */
export interface Reservation {
  /** Uploads and anything else before the create: a failure gives the whole reservation back. */
  beforeCreate<T>(work: Promise<T>): Promise<T>;
  /** The create (and the wait): a failure before any prediction could exist gives it back. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Each state of the prediction: the first binds the reservation to its id, a terminal one settles it. */
  seen(prediction: Prediction): void;
  /** Resolves once what `seen` started is done (the answer's headers then show the settlement). */
  idle(): Promise<void>;
}

export const NO_RESERVATION: Reservation = {
  beforeCreate: (work) => work,
  track: (work) => work,
  seen: () => {},
  idle: async () => {},
};

/**
 * Reserves the estimate of one prediction in every budget, or throws a 402 problem (how much is
 * left, when it renews, Retry-After) having counted nothing. No budget set: a reservation that
 * does nothing, without a call to the store.
 */
export async function reserveSpend(
  request: Request,
  context: { config: Config; guard: GuardConfig; caller?: Caller },
): Promise<Reservation> {
  const { config } = context;
  const spend = config.engine.spend();
  if (!spendGuardOn(spend)) return NO_RESERVATION;
  const now = config.engine.clock.now();
  const scopes = scopesOf(spend, callerKeyOf(request, context.caller, context.guard));
  const amountMs = await estimateMs(context.config, spend, scopes);
  const id = randomUUID();
  const decision = await ledger(config).reserve(id, scopes, amountMs, now);
  if (!decision.ok) throw budgetSpent(spend, scopes, decision.usage, decision.refused, amountMs, now);
  return openReservation(context.config, id);
}

/**
 * The median of the model's last few settled predict times, else the configured default; never
 * more than the smallest budget (so a fresh window always lets one prediction through). A store
 * that cannot answer the history is not a reason to refuse: the default is used.
 */
async function estimateMs(config: Config, spend: SpendConfig, scopes: BudgetScope[]): Promise<number> {
  const recent = await ledger(config)
    .recentCosts(modelKey(config))
    .catch(() => [] as number[]);
  const estimate = recent.length > 0 ? median(recent) : spend.defaultEstimateMs;
  return Math.max(1, Math.min(Math.round(estimate), ...scopes.map((scope) => scope.limitMs)));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function openReservation(config: Config, id: string): Reservation {
  let predictionId: string | undefined;
  let bound: Promise<void> | undefined;
  let settled: Promise<unknown> | undefined;
  const { clock } = config.engine;
  const giveBack = () => ledger(config).release(id, clock.now()).catch(storeFailed("release"));
  return {
    ...freedOnFailure(giveBack, () => predictionId !== undefined),
    seen(prediction) {
      if (predictionId === undefined) {
        predictionId = prediction.id;
        bound = ledger(config).bind(id, prediction.id, clock.now()).catch(storeFailed("bind"));
      }
      if (isTerminal(prediction) && settled === undefined) settled = bound!.then(() => settleSpend(prediction, config));
    },
    async idle() {
      await bound;
      await settled;
    },
  };
}

function budgetSpent(
  spend: SpendConfig,
  scopes: NamedScope[],
  usage: ScopeUsage[],
  refused: number,
  amountMs: number,
  now: number,
): Problem {
  const scope = scopes[refused];
  const { usedMs, limitMs, resetAt } = usage[refused];
  const leftMs = Math.max(0, limitMs - usedMs);
  const retryAfter = Math.max(1, Math.ceil((resetAt - now) / 1000));
  const who = scope.name === "caller" ? "You have" : "This app has";
  const variable = scope.name === "caller" ? "REPLICATE_BUDGET_PER_CALLER" : "REPLICATE_BUDGET_TOTAL";
  const detail =
    `${who} used ${seconds(usedMs)} of ${seconds(limitMs)} model-seconds ${windowWords(scope.rule)}${money(spend, usedMs, limitMs)} ` +
    `(${variable}=${scope.rule.text}); ${seconds(leftMs)} s are left and a prediction is estimated at ${seconds(amountMs)} s. ` +
    `The budget renews at ${new Date(resetAt).toISOString()} (in ${retryAfter} s).`;
  return new Problem(402, "Budget spent", detail, {
    headers: { "Retry-After": String(retryAfter), ...rateLimitHeaders(scopes, usage, now) },
    nothingCreated: true,
    extra: {
      budget: {
        scope: scope.name,
        used_seconds: usedMs / 1000,
        limit_seconds: limitMs / 1000,
        remaining_seconds: leftMs / 1000,
        estimate_seconds: amountMs / 1000,
        resets_at: new Date(resetAt).toISOString(),
      },
    },
  });
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1).replace(/\.0$/, "");
}

function windowWords(rule: BudgetRule): string {
  return rule.window === "day" ? "today" : `this ${rule.window}`;
}

function money(spend: SpendConfig, usedMs: number, limitMs: number): string {
  if (spend.pricePerSecond === undefined) return "";
  const dollars = (ms: number) => `$${((ms / 1000) * spend.pricePerSecond!).toFixed(2)}`;
  return ` (${dollars(usedMs)} of ${dollars(limitMs)})`;
}

// ---- settle ---------------------------------------------------------------------------------

/**
 * What Replicate reports the prediction cost: `metrics.predict_time`; a prediction that never
 * started (aborted, or canceled while starting) costs 0; one that ran without reporting it, the
 * time between its `started_at` and `completed_at`. Undefined while it runs or when nothing says.
 */
export function costOf(prediction: Prediction, spend: SpendConfig): PredictionCost | undefined {
  if (!isTerminal(prediction)) return undefined;
  const reported = prediction.metrics?.predict_time;
  let secondsBilled: number | undefined;
  if (typeof reported === "number" && Number.isFinite(reported) && reported >= 0) secondsBilled = reported;
  else if (prediction.status === "aborted" || !prediction.started_at) secondsBilled = 0;
  else if (prediction.completed_at) {
    const ran = (Date.parse(prediction.completed_at) - Date.parse(prediction.started_at)) / 1000;
    secondsBilled = Number.isFinite(ran) ? Math.max(0, ran) : undefined;
  }
  if (secondsBilled === undefined) return undefined;
  return spend.pricePerSecond === undefined
    ? { seconds: secondsBilled }
    : { seconds: secondsBilled, dollars: secondsBilled * spend.pricePerSecond };
}

/**
 * Settles the reservation of a prediction seen ending, once, whichever instance sees it first:
 * its budgets get back the difference between the estimate and what Replicate reports, and a
 * succeeded one's predict time joins the model's estimate. Returns the prediction's cost (for
 * `onPrediction`), settled here or before. Never fails its caller: a store that cannot answer
 * leaves the reservation for the next one to see the end (or until its window ends).
 */
export async function settleSpend(prediction: Prediction, config: Config): Promise<PredictionCost | undefined> {
  const spend = config.engine.spend();
  const now = config.engine.clock.now();
  const cost = costOf(prediction, spend);
  if (!cost || !spendGuardOn(spend)) return cost;
  const costMs = Math.round(cost.seconds * 1000);
  const reserved = await ledger(config).settle(prediction.id, costMs, now).catch(storeFailed("settle"));
  if (reserved != null && prediction.status === "succeeded") {
    await ledger(config).recordCost(modelKey(config), costMs).catch(storeFailed("record"));
  }
  return cost;
}

function storeFailed(step: string): (error: unknown) => undefined {
  return (error) => {
    // The outage itself was logged once by the connection.
    if (!(error instanceof SharedStateUnavailable))
      logWarning("spend_guard", `The spend ledger's ${step} failed: ${String(error)}`);
    return undefined;
  };
}

// ---- the headers ----------------------------------------------------------------------------

/**
 * The caller's budgets as the IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers):
 *   RateLimit-Policy: "caller";q=300;qu="model-seconds";w=86400, "app";q=3600;qu="model-seconds";w=86400
 *   RateLimit: "caller";r=212;t=5400, "app";r=3100;t=5400
 * in whole seconds (remaining rounded down, reset up). Empty with no budget set, or when the store
 * cannot answer (an answer is never failed for its headers).
 */
export async function budgetHeaders(
  request: Request,
  context: { config: Config; guard: GuardConfig; caller?: Caller },
): Promise<Record<string, string>> {
  const { config } = context;
  const spend = config.engine.spend();
  if (!spendGuardOn(spend)) return {};
  const now = config.engine.clock.now();
  const scopes = scopesOf(spend, callerKeyOf(request, context.caller, context.guard));
  const usage = await ledger(config).usage(scopes, now).catch(storeFailed("read"));
  return usage ? rateLimitHeaders(scopes, usage, now) : {};
}

function rateLimitHeaders(scopes: NamedScope[], usage: ScopeUsage[], now: number): Record<string, string> {
  const policy = scopes.map(
    (scope) => `"${scope.name}";q=${Math.floor(scope.limitMs / 1000)};qu="model-seconds";w=${scope.windowMs / 1000}`,
  );
  const state = scopes.map((scope, i) => {
    const remaining = Math.max(0, Math.floor((usage[i].limitMs - usage[i].usedMs) / 1000));
    return `"${scope.name}";r=${remaining};t=${Math.max(0, Math.ceil((usage[i].resetAt - now) / 1000))}`;
  });
  return { "RateLimit-Policy": policy.join(", "), RateLimit: state.join(", ") };
}
