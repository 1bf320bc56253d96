/**
 * The engine the in-process tests run the routes on, built through the public entry
 * (`createReplicateRoutes`) from options: the variables a test sets (route-env's `setEnv`,
 * guard-env's `setGuardEnv`, `setVariables`) are a plain record handed to the environment adapter,
 * never `process.env`. A change of the record builds a new engine at the next request; the
 * in-process stores stay those of the file (as one process keeps them) until REDIS_URL or
 * REDIS_KEY_PREFIX change. The app's route files reach it through tests/support/test-replicate.ts
 * (vitest.config.ts puts it in place of lib/replicate.ts).
 */
import * as schema from "@/app/api/ai/replicate/schema";
import { onPrediction } from "@/app/api/ai/replicate/webhook/on-prediction";
import type { Config } from "@/lib/server/config";
import type { Engine } from "@/lib/server/engine";
import { replicateOptionsFromEnv } from "@/lib/server/env-options";
import { createReplicateRoutes, type ReplicateRoutes, type ReplicateRoutesOptions } from "@/lib/server/replicate-routes";
import type { MemoryDeliveredPredictions } from "@/lib/server/shared-state/memory-deliveries";
import type { RouteHost } from "@/lib/server/route-handler";
import { sharedStateFor, type SharedState } from "@/lib/server/shared-state/shared-state";

const variables: Record<string, string | undefined> = {};
let current: ReplicateRoutes | undefined;
let stores: { key: string; state: SharedState } | undefined;
let extra: Partial<ReplicateRoutesOptions> = {};

/** Sets (or with undefined, unsets) variables; the next request runs on an engine built from them. */
export function setVariables(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) delete variables[name];
    else variables[name] = value;
  }
  current = undefined;
}

/** Options given in code on top of the variables' (e.g. a clock), until the next call. */
export function setEngineOptions(options: Partial<ReplicateRoutesOptions>): void {
  extra = options;
  current = undefined;
}

/** A test's start: no options given in code, fresh in-process stores (rate limits, deliveries...). */
export function resetEngine(): void {
  setEngineOptions({});
  const previous = stores?.state;
  stores = undefined;
  void previous?.close();
}

/** The value a variable has in the tests' record. */
export function variable(name: string): string | undefined {
  return variables[name];
}

/** The routes of the engine built from the current variables. */
export function testRoutes(): ReplicateRoutes {
  if (!current) {
    const env = { ...variables };
    const fromEnv = replicateOptionsFromEnv(env);
    current = createReplicateRoutes({
      ...fromEnv,
      stores: () => storesFor(env),
      schema: { ...schema, outputSchema: "outputSchema" in schema ? schema.outputSchema : undefined },
      onPrediction,
      ...extra,
    });
  }
  return current;
}

/** The current engine's settings, as its modules take them (a 500 problem when they do not parse). */
export function testConfig(): Config {
  return testRoutes().config();
}

/** The current engine's state. */
export function testEngine(): Engine {
  return testRoutes().engine;
}

function storesFor(env: Record<string, string | undefined>): SharedState {
  const key = `${env.REDIS_URL ?? ""}\u0000${env.REDIS_KEY_PREFIX ?? ""}`;
  if (stores?.key !== key) {
    const previous = stores?.state;
    const option = replicateOptionsFromEnv(env).stores;
    stores = { key, state: sharedStateFor(typeof option === "function" ? option() : option) };
    void previous?.close();
  }
  return stores.state;
}

/** The current engine's in-process store of delivered predictions (the memory stores' MemoryDeliveredPredictions). */
export function deliveredStore(): MemoryDeliveredPredictions {
  return testEngine().shared().deliveredPredictions as MemoryDeliveredPredictions;
}

/** The current engine as its routes see it, for a test that wraps a handler of its own with `replicateRoute`. */
export function testHost(): RouteHost {
  const routes = testRoutes();
  return { guard: routes.guard, config: routes.config, engine: routes.engine };
}
