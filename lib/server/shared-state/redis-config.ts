import "server-only";
import { optional, parseEnv, type Env } from "@/lib/server/env";
import { z } from "zod";

/**
 * REDIS_URL and REDIS_KEY_PREFIX: where the state shared by several instances lives. Parsed apart
 * from the Replicate settings (like the guards') and only when shared state is first used, never
 * at import. Unset REDIS_URL: every piece of shared state is this process's memory.
 */
export interface RedisConfig {
  /** `redis://` or `rediss://` (TLS, e.g. Upstash's TCP endpoint); undefined: in-process state. */
  url?: string;
  /** Put before every key and channel, so several apps can share one Redis. */
  keyPrefix: string;
}

export const REDIS_ENV_NAMES = ["REDIS_URL", "REDIS_KEY_PREFIX"] as const;
export const DEFAULT_KEY_PREFIX = "replicate-next-route:";

// Empty counts as unset, so `REDIS_URL=` in an .env file means "no Redis".

const redisEnvSchema = z.object({
  REDIS_URL: optional(
    z
      .string()
      .trim()
      .refine((text) => URL.canParse(text) && /^rediss?:$/.test(new URL(text).protocol), "must be a redis:// or rediss:// URL"),
  ),
  REDIS_KEY_PREFIX: optional(
    z.string().regex(/^[\x21-\x7e]{1,64}$/, "must be 1 to 64 visible ASCII characters, no spaces"),
  ).transform((prefix) => prefix ?? DEFAULT_KEY_PREFIX),
});

export function parseRedisConfig(env: Env): RedisConfig {
  // Names the variable, never its value: a REDIS_URL carries the password.
  const vars = parseEnv(redisEnvSchema, env);
  return { url: vars.REDIS_URL, keyPrefix: vars.REDIS_KEY_PREFIX };
}

/** The password in REDIS_URL, for the log's redaction list (empty when there is none). */
export function redisSecretValues(env: Env = process.env): string[] {
  const url = env.REDIS_URL?.trim();
  if (!url || !URL.canParse(url)) return [];
  const { password } = new URL(url);
  return password.length >= 6 ? [password, decodeURIComponent(password)] : [];
}
