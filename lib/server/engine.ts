import "server-only";
// The state one engine owns, and nothing else in the process holds: its stores (in-process, or
// Redis when configured), its poller and create pacing, its in-flight counts and body budget, the
// webhook secret it fetched, the input files it deleted, its output storage and its clock. Two
// engines in one process share nothing unless they were given the same stores. Built by
// `createReplicateRoutes` (lib/server/replicate-routes.ts); the modules reach it as `config.engine`.

import { systemClock, type Clock } from "./clock";
import type { Config, ReplicateSettings } from "./config";
import { InFlightLimit, WebhookSlots } from "./guard/in-flight";
import { BodyBudget } from "./http/body-budget";
import type { Poller } from "./replicate/poller";
import type { CreatePacing } from "./shared-state/create-pacing";
import { memorySharedState, type SharedState } from "./shared-state/shared-state";
import { parseSpendConfig, type SpendConfig } from "./spend-guard/spend-config";
import { parseCopySettings, type CopySettings, type OutputStorage } from "./storage/storage-config";

export interface Engine {
  readonly clock: Clock;
  /** The stores every guarantee across requests goes through (built at first use: REDIS_URL may be malformed). */
  shared(): SharedState;
  /** Where outputs are kept; null when off. A configuration problem is thrown at each call. */
  outputStorage(): OutputStorage | null;
  /** The spend guard's budgets (REPLICATE_BUDGET_*); off when none is set. */
  spend(): SpendConfig;
  /** The file hosts and limits every read of an output file is bound by, kept or not. */
  outputCopy(): CopySettings;
  /** Requests this engine serves at once (REPLICATE_MAX_IN_FLIGHT). */
  readonly inFlight: InFlightLimit;
  /** Webhook deliveries read at once (REPLICATE_WEBHOOK_MAX_IN_FLIGHT). */
  readonly webhooksInFlight: WebhookSlots;
  /** Body bytes held at once (REPLICATE_BODY_BUDGET_BYTES). */
  readonly bodyBudget: BodyBudget;
  /** Replicate's default webhook secret, fetched once (a failed fetch is forgotten). */
  readonly webhookSecrets: Map<string, Promise<string>>;
  /** Input files already deleted: a cache that spares a repeat call. */
  readonly deletedInputFiles: Set<string>;
  /** Statuses Replicate answered that the route does not know, each logged once. */
  readonly unknownStatusesLogged: Set<string>;
  /** The prediction handles' key, derived from the handle secret at first use. */
  handleKey?: Buffer;
  /** The "route is open" warning was logged (once per engine). */
  warnedOpenRoute?: boolean;
  /** Set at first use by pollerFor and pacingFor, for this engine's stores. */
  poller?: { state: SharedState; poller: Poller };
  createPacing?: { state: SharedState; pacing: CreatePacing };
}

export interface EngineParts {
  clock: Clock;
  shared: () => SharedState;
  outputStorage: () => OutputStorage | null;
  outputCopy: () => CopySettings;
  spend: () => SpendConfig;
}

export function createEngine(parts: EngineParts): Engine {
  return {
    clock: parts.clock,
    shared: parts.shared,
    outputStorage: parts.outputStorage,
    outputCopy: parts.outputCopy,
    spend: parts.spend,
    inFlight: new InFlightLimit(),
    webhooksInFlight: new WebhookSlots(() => parts.clock.now()),
    bodyBudget: new BodyBudget(),
    webhookSecrets: new Map(),
    deletedInputFiles: new Set(),
    unknownStatusesLogged: new Set(),
  };
}

/**
 * Settings with an engine of their own, for code that calls the engine's modules without routes
 * (`npm run doctor`, the benchmark, tests): in-process stores unless given, no output storage.
 */
export function configWithEngine(settings: ReplicateSettings, parts: Partial<EngineParts> = {}): Config {
  let shared: SharedState | undefined;
  const engine = createEngine({
    clock: parts.clock ?? systemClock,
    shared: parts.shared ?? (() => (shared ??= memorySharedState())),
    outputStorage: parts.outputStorage ?? (() => null),
    outputCopy: parts.outputCopy ?? (() => parseCopySettings({})),
    spend: parts.spend ?? (() => parseSpendConfig({})),
  });
  return { ...settings, engine };
}
