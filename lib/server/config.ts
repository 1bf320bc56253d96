import "server-only";
// The environment, parsed once with zod into a typed object (t3-env style). It is read at the
// first request, never at import, so `next build` works without any variable set. A missing or
// malformed variable is answered as a 500 problem naming it, never `undefined` deep in a request.

import { z } from "zod";
import { configProblem, envNumber, optional, parseEnv, parsedOncePerEnv, type Env } from "@/lib/server/env";
import { Problem } from "@/lib/server/problem";
import { parseRateRule, type RateRule } from "@/lib/server/guard/rate-rule";
import { redisSecretValues } from "@/lib/server/shared-state/redis-config";
import { STORAGE_SECRET_NAMES } from "@/lib/server/storage/storage-config";
import { warnIfCapMisfits } from "@/lib/server/route-duration";

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
  /** File inputs (data URLs) decoding to more bytes than this go to Replicate's Files API, not inline. */
  inlineMaxBytes: number;
  /** Largest webhook body: one prediction, outputs included (data URLs when the model inlines them). */
  webhookMaxBodyBytes: number;
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
  "REPLICATE_INLINE_MAX_BYTES",
  "REPLICATE_WEBHOOK_MAX_BODY_BYTES",
  "REPLICATE_POLL_BUDGET_PER_MINUTE",
  "REPLICATE_CREATES_PER_MINUTE",
  "REPLICATE_WEBHOOK_URL",
  "REPLICATE_WEBHOOK_SECRET",
  "PREDICTION_HANDLE_SECRET",
] as const;

const TARGET_NAMES = ["REPLICATE_MODEL_VERSION", "REPLICATE_MODEL", "REPLICATE_DEPLOYMENT"] as const;

const number = envNumber;

/**
 * A base URL calls append paths to, so a query, a fragment or credentials in it would end up in
 * the wrong place of every call (each one answered 404): refused here, naming the variable.
 */
const baseUrl = (error: string) =>
  z.url({ protocol: /^https?$/, error }).refine((text) => {
    const url = new URL(text);
    return !/[?#]/.test(text) && url.username === "" && url.password === "";
  }, `${error}, without a ?query, a #fragment or user:password@`);

/**
 * One prediction as a webhook delivers it, outputs included: a model that answers data URLs of a
 * few hundred KB each fits several of them in 4 MiB (Replicate's own URLs are a few hundred bytes).
 */
export const DEFAULT_WEBHOOK_MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Replicate accepts a `Cancel-After` of 5 s to 24 h and the create sends the cap plus 5 s, so the
 * cap ends 5 s short of 24 h; past that every create would be refused.
 */
export const MAX_TIMEOUT_SECONDS = 86_400 - 5;

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
  REPLICATE_API_BASE_URL: optional(baseUrl("must be an http(s) URL")).transform((url) => (url ?? "https://api.replicate.com/v1").replace(/\/+$/, "")),
  REPLICATE_POLL_INTERVAL_MS: optional(number(1, 600_000, true)).transform((v) => v ?? 1000),
  REPLICATE_TIMEOUT_SECONDS: optional(number(0.001, MAX_TIMEOUT_SECONDS, false)).transform((v) => v ?? 60),
  // 5 s: a client that leaves while the create is held is followed by a cancel within about 6 s.
  REPLICATE_SYNC_WAIT_SECONDS: optional(number(0, 3600, true, "must be 0 (off) or a whole number of seconds (Replicate waits 1..60)"))
    .transform((v) => v ?? 5),
  REPLICATE_ASYNC_TIMEOUT_SECONDS: optional(number(5, 86_400, true)).transform((v) => v ?? 1800),
  REPLICATE_WEBHOOK_MAX_BODY_BYTES: optional(number(1024, 1024 ** 3, true)).transform((v) => v ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES),
  REPLICATE_MAX_BODY_BYTES: optional(number(1, 1024 ** 3, true)).transform((v) => v ?? 10 * 1024 * 1024),
  // Replicate's API reference asks for data URLs only up to 256 KB; its Files API takes 100 MiB.
  REPLICATE_INLINE_MAX_BYTES: optional(number(0, 100 * 1024 ** 2, true)).transform((v) => v ?? 256 * 1024),
  REPLICATE_POLL_BUDGET_PER_MINUTE: optional(number(60, 1_000_000, true)).transform((v) => v ?? 2400),
  REPLICATE_CREATES_PER_MINUTE: optional(number(1, 1_000_000, true)).transform((v) => v ?? 600),
  REPLICATE_WEBHOOK_URL: optional(baseUrl("must be the app's public http(s) origin")),
  REPLICATE_WEBHOOK_SECRET: optional(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, "must look like whsec_<base64>")),
  PREDICTION_HANDLE_SECRET: optional(z.string().min(16, "must be at least 16 characters")),
});


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
    inlineMaxBytes: vars.REPLICATE_INLINE_MAX_BYTES,
    webhookMaxBodyBytes: vars.REPLICATE_WEBHOOK_MAX_BODY_BYTES,
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

/**
 * 0 turns the sync wait off; otherwise Replicate accepts whole seconds 1..60 and the wait never
 * outlasts the cap. A cap under one second leaves no whole second to wait: the wait is off.
 */
function clampSyncWait(seconds: number, timeoutSeconds: number): number {
  return Math.min(seconds, 60, Math.floor(timeoutSeconds));
}


const configCache = parsedOncePerEnv(ENV_NAMES, (env) => {
  const config = parseConfig(env);
  // Once per configuration, at its first request: a cap the routes' maxDuration cannot hold.
  warnIfCapMisfits(config.timeoutSeconds);
  return config;
});

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
  /** A request body that has not fully arrived this long after its request is answered 408. */
  bodyTimeoutMs: number;
  /** Body bytes the whole process holds at once, summed over the requests in flight (503 past it). */
  bodyBudgetBytes: number;
  /** Webhook deliveries read at once (503 past it); they count against maxInFlight too. */
  webhookMaxInFlight: number;
}

export const GUARD_ENV_NAMES = [
  "ROUTE_API_KEY",
  "APP_ORIGIN",
  "REPLICATE_RATE_LIMIT",
  "REPLICATE_MAX_IN_FLIGHT",
  "TRUST_PROXY",
  "REPLICATE_BODY_TIMEOUT_SECONDS",
  "REPLICATE_BODY_BUDGET_BYTES",
  "REPLICATE_WEBHOOK_MAX_IN_FLIGHT",
] as const;

/**
 * 1000 fits one machine: a request in flight without a large body costs the process a few tens
 * of KB and one socket (large bodies are bounded apart, by DEFAULT_BODY_BUDGET_BYTES), and the
 * shared poller reads a thousand predictions for about ten calls a second. Replicate's own
 * create limit (600 a minute) binds before this cap does at the default 60 s timeout, so the cap
 * only bites when the process itself is flooded.
 */
export const DEFAULT_MAX_IN_FLIGHT = 1000;

/** A slow body holds a slot; 30 s is ample for 10 MiB on any link a browser uploads images over. */
export const DEFAULT_BODY_TIMEOUT_SECONDS = 30;

/**
 * 512 MiB of bodies at once. A request holds at most 3 times its body (tests/body-memory.test.ts
 * measures it), so bodies cost the process at most 1.5 GiB whatever the in-flight cap: 51 requests
 * with a 10 MiB image at once, and thousands with a prompt only.
 */
export const DEFAULT_BODY_BUDGET_BYTES = 512 * 1024 * 1024;

/** Webhooks are answered in milliseconds; 32 at once at 4 MiB each is 128 MiB at most. */
export const DEFAULT_WEBHOOK_MAX_IN_FLIGHT = 32;

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
  TRUST_PROXY: optional(number(0, 10, true, "must be the number of proxies in front of the app (0, 1, 2...)")).transform((v) => v ?? 0),
  REPLICATE_BODY_TIMEOUT_SECONDS: optional(number(1, 300, false)).transform((v) => v ?? DEFAULT_BODY_TIMEOUT_SECONDS),
  REPLICATE_BODY_BUDGET_BYTES: optional(number(1024 * 1024, 2 ** 50, true)).transform((v) => v ?? DEFAULT_BODY_BUDGET_BYTES),
  REPLICATE_WEBHOOK_MAX_IN_FLIGHT: optional(number(1, 100_000, true)).transform((v) => v ?? DEFAULT_WEBHOOK_MAX_IN_FLIGHT),
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
    bodyTimeoutMs: vars.REPLICATE_BODY_TIMEOUT_SECONDS * 1000,
    bodyBudgetBytes: vars.REPLICATE_BODY_BUDGET_BYTES,
    webhookMaxInFlight: vars.REPLICATE_WEBHOOK_MAX_IN_FLIGHT,
  };
}

const guardCache = parsedOncePerEnv(GUARD_ENV_NAMES, parseGuardConfig);

/** The guards' settings of the current environment, parsed once per distinct environment. */
export function getGuardConfig(env: Env = process.env): GuardConfig {
  return guardCache(env);
}


const SECRET_NAMES = [
  "REPLICATE_API_TOKEN",
  "ROUTE_API_KEY",
  "REPLICATE_WEBHOOK_SECRET",
  "PREDICTION_HANDLE_SECRET",
  ...STORAGE_SECRET_NAMES,
] as const;

/**
 * The secrets of the environment as they are set, even when the rest does not parse: what a log
 * line must never contain. Very short values are left out (redacting "a" would mangle every line).
 */
export function secretValues(env: Env = process.env): string[] {
  const named = SECRET_NAMES.map((name) => env[name]?.trim() ?? "").filter((value) => value.length >= 6);
  return [...named, ...redisSecretValues(env)];
}
