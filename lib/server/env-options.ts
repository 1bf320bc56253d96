import "server-only";
// The environment adapter: the engine's options built from environment variables, the only
// module of the engine that reads `process.env`. Each part is parsed at its first use by the
// engine (never at import: `next build` needs no variable), once per engine, with zod: a missing
// or malformed variable is a 500 problem naming it, never its value. The guards' part is parsed
// apart, so a caller who may not use the route gets its 401 even while the rest is broken.

import { parseConfig, parseGuardConfig, secretValues } from "./config";
import type { Env } from "./env";
import { addSecrets } from "./log";
import type { ReplicateRoutesOptions } from "./replicate-routes";
import { parseRedisConfig } from "./shared-state/redis-config";
import { parseSpendConfig } from "./spend-guard/spend-config";
import { parseCopySettings, parseStorageConfig } from "./storage/storage-config";

export type EnvOptions = Pick<
  ReplicateRoutesOptions,
  "replicate" | "access" | "stores" | "outputStorage" | "outputCopy" | "spend"
>;

/** The options the variables set (docs/configuration.md lists them); `env` defaults to the process's. */
export function replicateOptionsFromEnv(env: Env = process.env): EnvOptions {
  // What a log line must never contain, as set (even when the rest does not parse).
  addSecrets(secretValues(env));
  return {
    replicate: () => parseConfig(env),
    access: () => parseGuardConfig(env),
    stores: () => {
      const redis = parseRedisConfig(env);
      return redis.url ? { redis: redis.url, keyPrefix: redis.keyPrefix } : "memory";
    },
    outputStorage: () => parseStorageConfig(env),
    outputCopy: () => parseCopySettings(env),
    spend: () => parseSpendConfig(env),
  };
}
