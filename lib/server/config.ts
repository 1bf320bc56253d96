import "server-only";
// The environment, parsed once with zod into a typed object (t3-env style). It is read at the
// first request, never at import, so `next build` works without any variable set. A missing or
// malformed variable is answered as a 500 problem naming it, never `undefined` deep in a request.

import { z } from "zod";
import { Problem } from "@/lib/server/problem";
import { parseRateRule, type RateRule } from "@/lib/server/guard/rate-rule";

export type ModelTarget =
  | { kind: "version"; version: string }
  | { kind: "model"; owner: string; name: string }
  | { kind: "deployment"; owner: string; name: string };

export interface Config {
  token: string;
  target: ModelTarget;
  baseUrl: string;
  pollIntervalMs: number;
  timeoutSeconds: number;
  /** `Prefer: wait=N` on the create; 0 turns it off. It bounds how long a leaving client goes uncanceled. */
  syncWaitSeconds: number;
  /** `Cancel-After` of an async create: nobody waits for it in-process, so Replicate ends it past this. */
  asyncTimeoutSeconds: number;
  maxBodyBytes: number;
  /** Non-create calls a minute this process may spend polling (Replicate allows 3,000 an account). */
  pollBudgetPerMinute: number;
  /** The account's create limit: after a 429, this process paces its creates at this rate. */
  createsPerMinute: number;
  /** The app's public origin: async creates carry a webhook to its webhook route. */
  webhookUrl?: string;
  /** `whsec_...`; when unset the secret is fetched once from Replicate and cached. */
  webhookSecret?: string;
  /** Signs prediction handles: PREDICTION_HANDLE_SECRET, else the token (rotating it retires old handles). */
  handleSecret: string;
}

export const ENV_NAMES = [
  "REPLICATE_API_TOKEN",
  "REPLICATE_MODEL_VERSION",
  "REPLICATE_MODEL",
  "REPLICATE_DEPLOYMENT",
  "REPLICATE_API_BASE_URL",
  "REPLICATE_POLL_INTERVAL_MS",
  "REPLICATE_TIMEOUT_SECONDS",
  "REPLICATE_SYNC_WAIT_SECONDS",
  "REPLICATE_ASYNC_TIMEOUT_SECONDS",
  "REPLICATE_MAX_BODY_BYTES",
  "REPLICATE_POLL_BUDGET_PER_MINUTE",
  "REPLICATE_CREATES_PER_MINUTE",
  "REPLICATE_WEBHOOK_URL",
  "REPLICATE_WEBHOOK_SECRET",
  "PREDICTION_HANDLE_SECRET",
] as const;

const TARGET_NAMES = ["REPLICATE_MODEL_VERSION", "REPLICATE_MODEL", "REPLICATE_DEPLOYMENT"] as const;

// Empty counts as unset, so `FOO=` in an .env file behaves like no FOO at all.
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? undefined : value), schema.optional());

const number = (min: number, max: number, integer: boolean) => {
  const base = z.coerce.number({ error: "must be a number" });
  const checked = integer ? base.int("must be a whole number") : base;
  return checked.min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
};

const ownerName = z.string().regex(/^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/i, "must look like owner/name");

const envSchema = z.object({
  REPLICATE_API_TOKEN: z.preprocess(
    (value) => (typeof value === "string" ? value.trim() : value),
    z.string({ error: "is required" }).min(1, "is required"),
  ),
  REPLICATE_MODEL_VERSION: optional(
    z.string().regex(/^([a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*:)?[0-9a-f]{64}$/i,
      "must be a 64-hex version id or owner/name:<version>"),
  ),
  REPLICATE_MODEL: optional(ownerName),
  REPLICATE_DEPLOYMENT: optional(ownerName),
  REPLICATE_API_BASE_URL: optional(
    z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
  ).transform((url) => (url ?? "https://api.replicate.com/v1").replace(/\/+$/, "")),
  REPLICATE_POLL_INTERVAL_MS: optional(number(1, 600_000, true)).transform((v) => v ?? 1000),
  REPLICATE_TIMEOUT_SECONDS: optional(number(0.001, 86_400, false)).transform((v) => v ?? 60),
  // 5 s: a client that leaves while the create is held is followed by a cancel within about 6 s.
  REPLICATE_SYNC_WAIT_SECONDS: optional(number(0, 3600, true)).transform((v) => v ?? 5),
  REPLICATE_ASYNC_TIMEOUT_SECONDS: optional(number(5, 86_400, true)).transform((v) => v ?? 1800),
  REPLICATE_MAX_BODY_BYTES: optional(number(1, 1024 ** 3, true)).transform((v) => v ?? 10 * 1024 * 1024),
  REPLICATE_POLL_BUDGET_PER_MINUTE: optional(number(60, 1_000_000, true)).transform((v) => v ?? 2400),
  REPLICATE_CREATES_PER_MINUTE: optional(number(1, 1_000_000, true)).transform((v) => v ?? 600),
  REPLICATE_WEBHOOK_URL: optional(z.url({ protocol: /^https?$/, error: "must be the app's public http(s) origin" })),
  REPLICATE_WEBHOOK_SECRET: optional(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, "must look like whsec_<base64>")),
  PREDICTION_HANDLE_SECRET: optional(z.string().min(16, "must be at least 16 characters")),
});

type Env = Record<string, string | undefined>;

/** The variables a schema reads, or a 500 problem naming each malformed one (never its value). */
function parseEnv<T extends z.ZodType>(schema: T, env: Env): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${String(issue.path[0])} ${issue.message}`);
  throw configProblem(`${problems.join("; ")}.`);
}

export function parseConfig(env: Env): Config {
  const vars = parseEnv(envSchema, env);
  return {
    token: vars.REPLICATE_API_TOKEN,
    target: modelTarget(vars),
    baseUrl: vars.REPLICATE_API_BASE_URL,
    pollIntervalMs: vars.REPLICATE_POLL_INTERVAL_MS,
    timeoutSeconds: vars.REPLICATE_TIMEOUT_SECONDS,
    syncWaitSeconds: clampSyncWait(vars.REPLICATE_SYNC_WAIT_SECONDS, vars.REPLICATE_TIMEOUT_SECONDS),
    asyncTimeoutSeconds: vars.REPLICATE_ASYNC_TIMEOUT_SECONDS,
    maxBodyBytes: vars.REPLICATE_MAX_BODY_BYTES,
    pollBudgetPerMinute: vars.REPLICATE_POLL_BUDGET_PER_MINUTE,
    createsPerMinute: vars.REPLICATE_CREATES_PER_MINUTE,
    webhookUrl: vars.REPLICATE_WEBHOOK_URL?.replace(/\/+$/, ""),
    webhookSecret: vars.REPLICATE_WEBHOOK_SECRET,
    handleSecret: vars.PREDICTION_HANDLE_SECRET ?? vars.REPLICATE_API_TOKEN,
  };
}

function modelTarget(vars: z.infer<typeof envSchema>): ModelTarget {
  const set = TARGET_NAMES.filter((name) => vars[name] !== undefined);
  if (set.length !== 1) {
    const found = set.length === 0 ? "none is set" : `${set.join(" and ")} are set`;
    throw configProblem(`Set exactly one of ${TARGET_NAMES.join(", ")}: ${found}.`);
  }
  if (vars.REPLICATE_MODEL_VERSION) return { kind: "version", version: vars.REPLICATE_MODEL_VERSION };
  const kind = vars.REPLICATE_MODEL ? "model" : "deployment";
  const [owner, name] = (vars.REPLICATE_MODEL ?? vars.REPLICATE_DEPLOYMENT!).split("/");
  return { kind, owner, name };
}

/** 0 turns the sync wait off; otherwise Replicate accepts 1..60 and it never outlasts the cap. */
function clampSyncWait(seconds: number, timeoutSeconds: number): number {
  if (seconds === 0) return 0;
  return Math.max(1, Math.min(seconds, 60, Math.floor(timeoutSeconds)));
}

function configProblem(detail: string): Problem {
  return new Problem(500, "Server configuration error", detail);
}

const configCache = parsedOncePerEnv(ENV_NAMES, parseConfig);

/**
 * The configuration of the current environment, parsed once per distinct environment (the key is
 * the variables' raw values, so a test that changes `process.env` gets a fresh parse).
 */
export function getConfig(env: Env = process.env): Config {
  return configCache(env);
}

// ---- The guards' settings ---------------------------------------------------------------------

/**
 * Who may call the routes and how much. Parsed apart from the Replicate settings because the
 * access check runs before anything else: a caller who may not use the route gets its 401 or 403
 * even while the Replicate configuration is broken, and never learns which variable is missing.
 */
export interface GuardConfig {
  /** ROUTE_API_KEY: when set, every caller sends `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** APP_ORIGIN: origins browsers may call from besides the request's own Host. */
  appOrigins: string[];
  /** REPLICATE_RATE_LIMIT per client; unset: no per-client limit. */
  rateLimit?: RateRule;
  /** Requests this process serves at once before answering 503. */
  maxInFlight: number;
  /** TRUST_PROXY: how many proxies in front of the app append to `x-forwarded-for` (0: trust none). */
  trustProxyHops: number;
}

export const GUARD_ENV_NAMES = ["ROUTE_API_KEY", "APP_ORIGIN", "REPLICATE_RATE_LIMIT", "REPLICATE_MAX_IN_FLIGHT", "TRUST_PROXY"] as const;

/**
 * 1000 fits one machine: a request in flight costs the process a few tens of KB and one socket,
 * and the shared poller reads a thousand predictions for about ten calls a second. Replicate's own
 * create limit (600 a minute) binds before this cap does at the default 60 s timeout, so the cap
 * only bites when the process itself is flooded.
 */
export const DEFAULT_MAX_IN_FLIGHT = 1000;

const guardEnvSchema = z.object({
  ROUTE_API_KEY: optional(
    z.string().regex(/^[\x21-\x7e]{16,512}$/, "must be 16 to 512 visible ASCII characters, no spaces (e.g. `openssl rand -hex 32`)"),
  ),
  APP_ORIGIN: optional(z.string())
    .transform((value, context) => {
      const origins = (value ?? "").split(",").map((part) => part.trim()).filter(Boolean).map(originOf);
      if (origins.includes(null)) context.addIssue({ code: "custom", message: "must be http(s) origins, comma-separated" });
      return origins.filter((origin): origin is string => origin !== null);
    }),
  REPLICATE_RATE_LIMIT: optional(z.string())
    .transform((value, context) => {
      if (value === undefined) return undefined;
      const rule = parseRateRule(value);
      if (!rule) context.addIssue({ code: "custom", message: "must look like 10/min (units: s, min, h)" });
      return rule ?? undefined;
    }),
  REPLICATE_MAX_IN_FLIGHT: optional(number(1, 1_000_000, true)).transform((v) => v ?? DEFAULT_MAX_IN_FLIGHT),
  TRUST_PROXY: optional(
    z.coerce
      .number({ error: "must be the number of proxies in front of the app (0, 1, 2...)" })
      .int("must be the number of proxies in front of the app (0, 1, 2...)")
      .min(0, "must be 0 or more")
      .max(10, "must be at most 10"),
  ).transform((v) => v ?? 0),
});

function originOf(text: string): string | null {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
  } catch {
    return null;
  }
}

export function parseGuardConfig(env: Env): GuardConfig {
  const vars = parseEnv(guardEnvSchema, env);
  return {
    apiKey: vars.ROUTE_API_KEY,
    appOrigins: vars.APP_ORIGIN,
    rateLimit: vars.REPLICATE_RATE_LIMIT,
    maxInFlight: vars.REPLICATE_MAX_IN_FLIGHT,
    trustProxyHops: vars.TRUST_PROXY,
  };
}

const guardCache = parsedOncePerEnv(GUARD_ENV_NAMES, parseGuardConfig);

/** The guards' settings of the current environment, parsed once per distinct environment. */
export function getGuardConfig(env: Env = process.env): GuardConfig {
  return guardCache(env);
}

/** Memoizes a parse on the raw values of its variables; a configuration Problem is cached and rethrown. */
function parsedOncePerEnv<T>(names: readonly string[], parse: (env: Env) => T): (env: Env) => T {
  let cache: { key: string; result: T | Problem } | undefined;
  return (env) => {
    const key = names.map((name) => env[name] ?? "").join("\u0000");
    if (cache?.key !== key) {
      let result: T | Problem;
      try {
        result = parse(env);
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        result = error;
      }
      cache = { key, result };
    }
    if (cache.result instanceof Problem) throw cache.result;
    return cache.result;
  };
}

const SECRET_NAMES = ["REPLICATE_API_TOKEN", "ROUTE_API_KEY", "REPLICATE_WEBHOOK_SECRET", "PREDICTION_HANDLE_SECRET"] as const;

/**
 * The secrets of the environment as they are set, even when the rest does not parse: what a log
 * line must never contain. Very short values are left out (redacting "a" would mangle every line).
 */
export function secretValues(env: Env = process.env): string[] {
  return SECRET_NAMES.map((name) => env[name]?.trim() ?? "").filter((value) => value.length >= 6);
}
