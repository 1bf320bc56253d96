import "server-only";
import { optional, parseEnv, type Env } from "../env";
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

export const redisEnvSchema = z.object({
  REDIS_URL: optional(
    z
      .string()
      .trim()
      .refine((text) => URL.canParse(text) && /^rediss?:$/.test(new URL(text).protocol), "must be a redis:// or rediss:// URL"),
  ).describe(
    "A Redis every instance shares: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS (Upstash, " +
      "Redis Cloud, Redis 6+ and Valkey work). When set, rate limits, the poll budget and create pacing, webhook " +
      "dedupe and deliveries, idempotency records and polling itself (one instance polls for all) are shared; " +
      "while it is unreachable, requests whose rate limit or `Idempotency-Key` live there answer `503` with " +
      "`Retry-After` and recover by themselves. Nothing connects at build time; the password is redacted from " +
      "logs. Unset: each process keeps its own state in memory (one instance, `npm run demo`).",
  ),
  REDIS_KEY_PREFIX: optional(z.string().regex(/^[\x21-\x7e]{1,64}$/, "must be 1 to 64 visible ASCII characters, no spaces"))
    .transform((prefix) => prefix ?? DEFAULT_KEY_PREFIX)
    .describe("Put before every key and channel, so several apps can share one Redis."),
});

export function parseRedisConfig(env: Env): RedisConfig {
  // Names the variable, never its value: a REDIS_URL carries the password.
  const vars = parseEnv(redisEnvSchema, env);
  return { url: vars.REDIS_URL, keyPrefix: vars.REDIS_KEY_PREFIX };
}

/** The password in REDIS_URL, for the log's redaction list (empty when there is none). */
export function redisSecretValues(env: Env): string[] {
  const url = env.REDIS_URL?.trim();
  if (!url || !URL.canParse(url)) return [];
  const { password } = new URL(url);
  return password.length >= 6 ? [password, decodeURIComponent(password)] : [];
}
