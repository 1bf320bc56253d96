import "server-only";
// The engine's one entry: `createReplicateRoutes(options)` returns the route handlers of one
// engine, which owns its state (lib/server/engine.ts). An app builds it once, in its
// configuration module (lib/replicate.ts), and each route file exports one of its handlers:
//
//   export const { POST } = replicate;            // app/api/ai/replicate/route.ts
//
// Options are a typed object; `replicateOptionsFromEnv()` (lib/server/env-options.ts) builds them
// from the environment. Settings may be given as functions: each is called once, at the first
// request that needs it (never at import, so `next build` needs no variable), and a problem it
// throws is answered as a 500 naming what is wrong, again at each request.

import { systemClock, type Clock } from "./clock";
import {
  guardSettings,
  replicateSettings,
  warnOfRunLimit,
  type Config,
  type GuardConfig,
  type ReplicateSettingsInput,
} from "./config";
import { createEngine, type Engine } from "./engine";
import { createPredictionHandler, type ModelSchema } from "./handlers/create-prediction";
import { downloadFile, type DownloadParams } from "./handlers/download-file";
import { keptOutput, type OutputParams } from "./handlers/kept-output";
import { modelSchemasHandler } from "./handlers/model-schemas";
import { cancelByHandle, answerPrediction, type HandleParams } from "./handlers/prediction-by-handle";
import { webhookHandler, type OnPrediction } from "./handlers/webhook";
import { addSecrets } from "./log";
import { Problem } from "./problem";
import { replicateRoute, type RouteHandler, type RouteHost } from "./route-handler";
import { warnIfCapMisfits } from "./route-duration";
import { parseSpendConfig, type SpendConfig } from "./spend-guard/spend-config";
import { sharedStateFor, type SharedState, type StoresOption } from "./shared-state/shared-state";
import {
  createOutputStorage,
  parseCopySettings,
  type CopySettings,
  type OutputStorage,
  type OutputStorageConfig,
} from "./storage/storage-config";

/** A value, or a function called once at first use that returns it. */
export type Lazy<T> = T | (() => T);

export interface ReplicateRoutesOptions {
  /** The model target, the token and base URL, the caps and limits (defaults as documented in docs/configuration.md). */
  replicate: Lazy<ReplicateSettingsInput>;
  /** Who may call and how much: route key, origins, rate limit, in-flight caps, body limits. Default: open, the documented caps. */
  access?: Lazy<Partial<GuardConfig>>;
  /** The request body, its mapping to the model's input, and optionally the output schema. */
  schema: ModelSchema;
  /** Where state across requests lives: this process's memory (default), Redis (URL or connection), or stores another engine uses. */
  stores?: Lazy<StoresOption | undefined>;
  /** Where succeeded predictions' outputs are kept; default: not kept. */
  outputStorage?: Lazy<OutputStorage | OutputStorageConfig | null>;
  /** The file hosts and limits of every read of an output file (kept or downloaded); default: Replicate's hosts, the documented limits. */
  outputCopy?: Lazy<CopySettings>;
  /** Budgets of model time per caller and for the app (the spend guard); default: none. */
  spend?: Lazy<SpendConfig>;
  /** Each verified, new webhook delivery (after it is recorded and its spend settled); default: its input files deleted. Outputs are kept after the answer either way. */
  onPrediction?: OnPrediction;
  /** Time: every cap, poll round, budget and wait reads it. Default: the system clock. */
  clock?: Clock;
}

export interface ReplicateRoutes {
  /** `POST /api/ai/replicate`. */
  POST: RouteHandler;
  /** `GET /api/ai/replicate/{handle}`. */
  GET: RouteHandler<HandleParams>;
  /** `DELETE /api/ai/replicate/{handle}`. */
  DELETE: RouteHandler<HandleParams>;
  /** `POST /api/ai/replicate/webhook`. */
  webhook: RouteHandler;
  /** `GET /api/ai/replicate/schema`. */
  schema: RouteHandler;
  /** `GET /api/ai/replicate/download/{handle}/{index}`. */
  download: RouteHandler<DownloadParams>;
  /** `GET` and `HEAD /api/ai/replicate/outputs/{token}`. */
  outputs: RouteHandler<OutputParams>;
  /** This engine's state (its stores, budgets, poller). */
  readonly engine: Engine;
  /** The resolved settings with the engine, as the engine's modules take them. */
  config(): Config;
  /** The guards' resolved settings. */
  guard(): GuardConfig;
  /** Closes the engine's Redis connections, if it opened any. */
  close(): Promise<void>;
}

export function createReplicateRoutes(options: ReplicateRoutesOptions): ReplicateRoutes {
  const shared = once(() => sharedStateFor(resolve(options.stores)));
  const outputStorage = once(() => {
    const given = resolve(options.outputStorage) ?? null;
    return given === null || "store" in given ? given : createOutputStorage(given);
  });
  const outputCopy = once(() => resolve(options.outputCopy) ?? parseCopySettings({}));
  const spend = once(() => resolve(options.spend) ?? parseSpendConfig({}));
  const engine = createEngine({ clock: options.clock ?? systemClock, shared, outputStorage, outputCopy, spend });
  const config = once((): Config => {
    const settings = replicateSettings(resolve(options.replicate));
    // Once per engine, at its first request: a cap the routes' maxDuration cannot hold, and one
    // past the runs Replicate allows.
    warnIfCapMisfits(settings.timeoutSeconds);
    warnOfRunLimit(settings.timeoutSeconds);
    addSecrets([settings.token, settings.webhookSecret, settings.handleSecret]);
    // The spend guard's settings are resolved with the rest: a malformed budget is this 500, on every route.
    spend();
    return { ...settings, engine };
  });
  const guard = once(() => {
    const settings = guardSettings(resolve(options.access));
    addSecrets([settings.apiKey]);
    return settings;
  });
  const host: RouteHost = { guard, config, engine };
  const outputs = replicateRoute<OutputParams>(host, "GET /api/ai/replicate/outputs/[token]", keptOutput, {
    access: "capability",
  });
  return {
    POST: replicateRoute(host, "POST /api/ai/replicate", createPredictionHandler(options.schema)),
    GET: replicateRoute<HandleParams>(host, "GET /api/ai/replicate/[id]", answerPrediction),
    DELETE: replicateRoute<HandleParams>(host, "DELETE /api/ai/replicate/[id]", cancelByHandle),
    webhook: replicateRoute(host, "POST /api/ai/replicate/webhook", webhookHandler(options.onPrediction), {
      access: "signature",
    }),
    schema: replicateRoute(host, "GET /api/ai/replicate/schema", modelSchemasHandler(options.schema)),
    outputs,
    download: replicateRoute<DownloadParams>(host, "GET /api/ai/replicate/download/[id]/[index]", downloadFile),
    engine,
    config,
    guard,
    close: async () => {
      if (shared.built()) await (shared() as SharedState).close();
    },
  };
}

function resolve<T>(value: Lazy<T>): T {
  return typeof value === "function" ? (value as () => T)() : value;
}

/** Built at the first call; a configuration problem is kept and thrown again at each call. */
function once<T>(build: () => T): (() => T) & { built(): boolean } {
  let result: { value: T } | { problem: Problem } | undefined;
  const get = () => {
    if (!result) {
      try {
        result = { value: build() };
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        result = { problem: error };
      }
    }
    if ("problem" in result) throw result.problem;
    return result.value;
  };
  return Object.assign(get, { built: () => result !== undefined && "value" in result });
}
