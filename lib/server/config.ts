import "server-only";
// The environment, parsed once with zod into a typed object (t3-env style). It is read at the
// first request, never at import, so `next build` works without any variable set. A missing or
// malformed variable is answered as a 500 problem naming it, never `undefined` deep in a request.

import { z } from "zod";
import { configProblem, envNumber, optional, parseEnv, type Env } from "./env";
import type { Engine } from "./engine";
import { logWarning } from "./log";
import { Problem } from "./problem";
import { parseRateRule, type RateRule } from "./guard/rate-rule";
import { redisSecretValues } from "./shared-state/redis-config";
import { STORAGE_SECRET_NAMES } from "./storage/storage-config";
import { warnIfCapMisfits } from "./route-duration";

export type ModelTarget =
  | { kind: "version"; version: string }
  | { kind: "model"; owner: string; name: string }
  | { kind: "deployment"; owner: string; name: string };

/**
 * The Replicate side of an engine, resolved: what `createReplicateRoutes({ replicate })` takes
 * (missing fields get the defaults below) and what the environment adapter builds.
 */
export interface ReplicateSettings {
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
  /** REPLICATE_START_TIMEOUT_SECONDS: a followed prediction still `starting` this long is canceled; unset: never. */
  startTimeoutSeconds?: number;
}

/**
 * What the engine's modules are handed for one engine: its settings and the engine that owns the
 * state (stores, poller, budgets, clock). Two engines never share a Config.
 */
export interface Config extends ReplicateSettings {
  readonly engine: Engine;
}

/** The settings a caller must give; every other field has a default (the environment's, unset). */
export type ReplicateSettingsInput = Pick<ReplicateSettings, "token" | "target"> &
  Partial<Omit<ReplicateSettings, "token" | "target">>;

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
  "REPLICATE_START_TIMEOUT_SECONDS",
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

/**
 * Replicate ends a run at 30 minutes unless its support raised the account's limit (the prediction
 * fails, "Prediction timed out"): a longer cap is accepted, with a warning.
 */
export const PLATFORM_RUN_LIMIT_SECONDS = 1800;

const ownerName = z.string().regex(/^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/i, "must look like owner/name");

export const envSchema = z.object({
  REPLICATE_API_TOKEN: z
    .preprocess(
      (value) => (typeof value === "string" ? value.trim() : value),
      z.string({ error: "is required" }).min(1, "is required"),
    )
    .describe(
      "Your Replicate API token (https://replicate.com/account/api-tokens), sent as a Bearer header to " +
        "`REPLICATE_API_BASE_URL`'s origin only; never logged, never answered.",
    ),
  REPLICATE_MODEL_VERSION: optional(
    z
      .string()
      .regex(
        /^([a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*:)?[0-9a-f]{64}$/i,
        "must be a 64-hex version id or owner/name:<version>",
      ),
  ).describe(
    "The model to run, as a version id (64 hex) or `owner/name:<version>`, sent verbatim: " +
      "`POST {base}/predictions {version, input}`. Set exactly one of `REPLICATE_MODEL_VERSION`, " +
      "`REPLICATE_MODEL` and `REPLICATE_DEPLOYMENT`.",
  ),
  REPLICATE_MODEL: optional(ownerName).describe(
    "An official model, `owner/name`: `POST {base}/models/{owner}/{name}/predictions {input}`. Replicate " +
      "runs official models only on this endpoint; for another, use `REPLICATE_MODEL_VERSION=owner/name:<version>`.",
  ),
  REPLICATE_DEPLOYMENT: optional(ownerName).describe(
    "A deployment, `owner/name`: `POST {base}/deployments/{owner}/{name}/predictions {input}`.",
  ),
  REPLICATE_API_BASE_URL: optional(baseUrl("must be an http(s) URL"))
    .transform((url) => (url ?? "https://api.replicate.com/v1").replace(/\/+$/, ""))
    .describe(
      "Replicate's API base URL (`npm run demo` and the tests point it at the simulated Replicate). No " +
        "`?query`, `#fragment` or `user:password@`: every call appends a path to it, so they are refused.",
    ),
  REPLICATE_POLL_INTERVAL_MS: optional(number(1, 600_000, true))
    .transform((v) => v ?? 1000)
    .describe("Milliseconds between two poll rounds of the predictions that outlast the create's hold."),
  REPLICATE_TIMEOUT_SECONDS: optional(number(0.001, MAX_TIMEOUT_SECONDS, false))
    .transform((v) => v ?? 60)
    .describe(
      "Cap in seconds (decimals allowed) from receiving a request to answering it; past it the prediction is " +
        "canceled and the route answers that it timed out. The create sends `Cancel-After` = what is left of the cap " +
        "+ 5 s and Replicate accepts at most 24 h, hence the maximum. The routes' `maxDuration` (65 s) holds a cap of " +
        "60 s; a longer one is warned about at the first request, naming what to change. Replicate ends runs at 30 " +
        "minutes unless its support raised the account's limit: a cap above 1800 is accepted with a warning, logged once.",
    ),
  // 5 s: a client that leaves while the create is held is followed by a cancel within about 6 s.
  REPLICATE_SYNC_WAIT_SECONDS: optional(
    number(0, 3600, true, "must be 0 (off) or a whole number of seconds (Replicate waits 1..60)"),
  )
    .transform((v) => v ?? 5)
    .describe(
      "`Prefer: wait=N` on the create, so predictions shorter than N s end in one request; `0` turns it off. " +
        "Whole seconds only; clamped to 60, and each create holds at most the whole seconds left to the cap minus 1 " +
        "(under 1 s left: no hold). " +
        "It also bounds how long a client that leaves during the create goes uncanceled (N s + about 1 s): keep it " +
        "under 9 for the 10 s bound.",
    ),
  REPLICATE_ASYNC_TIMEOUT_SECONDS: optional(number(5, 86_400, true))
    .transform((v) => v ?? 1800)
    .describe(
      "`Cancel-After` of async creates (`Prefer: respond-async`), in seconds: nobody waits for them in-process, " +
        "so Replicate ends them by itself past this.",
    ),
  REPLICATE_WEBHOOK_MAX_BODY_BYTES: optional(number(1024, 1024 ** 3, true))
    .transform((v) => v ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES)
    .describe(
      "Largest webhook body accepted, in bytes: one prediction, outputs included (a few data URLs of hundreds " +
        "of KB each fit in the default 4 MiB). Past it `413`.",
    ),
  REPLICATE_MAX_BODY_BYTES: optional(number(1, 1024 ** 3, true))
    .transform((v) => v ?? 10 * 1024 * 1024)
    .describe(
      "Largest request body accepted, in bytes, JSON or `multipart/form-data` (in JSON, files travel as " +
        "base64); past it `413`. The default is 10 MiB. (Vercel cuts request bodies at 4.5 MB before the route runs.)",
    ),
  // Replicate's API reference asks for data URLs only up to 256 KB; its Files API takes 100 MiB.
  REPLICATE_INLINE_MAX_BYTES: optional(number(0, 100 * 1024 ** 2, true))
    .transform((v) => v ?? 256 * 1024)
    .describe(
      "File inputs (data URLs) decoding to more bytes than this are uploaded to Replicate's Files API and " +
        "passed to the model by URL (deleted once the prediction ended); at or below it they are sent inline as " +
        "data URLs. `0` uploads every file. The default is 256 KiB, Replicate's guidance for inline files.",
    ),
  REPLICATE_POLL_BUDGET_PER_MINUTE: optional(number(60, 1_000_000, true))
    .transform((v) => v ?? 2400)
    .describe(
      "Non-create calls a minute the account may spend polling (Replicate allows 3,000 per account), a smooth " +
        "rate with a second's worth of burst. With `REDIS_URL` it is the whole account's, shared by every instance " +
        "(divide nothing); without, each process's own.",
    ),
  REPLICATE_CREATES_PER_MINUTE: optional(number(1, 1_000_000, true))
    .transform((v) => v ?? 600)
    .describe(
      "The account's create limit (Replicate: 600 a minute, far fewer on low credit). Creates go out at once " +
        "until Replicate throttles one; then for a minute they are sent one slot at a time at this rate, each " +
        "waiting out its `Retry-After`. Account-wide with `REDIS_URL`, else per process.",
    ),
  REPLICATE_WEBHOOK_URL: optional(baseUrl("must be the app's public http(s) origin")).describe(
    "The app's public origin, e.g. `https://my-app.example.com`. When set, creates carry a webhook to " +
      "`{origin}/api/ai/replicate/webhook` (async: `start` and `completed`; sync JSON and event stream: " +
      "`completed`, so a prediction that outlives the hold is answered on its webhook). No `?query`, `#fragment` " +
      "or credentials. Unset: waits end by polling and by the predictions' streams.",
  ),
  REPLICATE_WEBHOOK_SECRET: optional(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, "must look like whsec_<base64>")).describe(
    "The signing secret of your webhooks, `whsec_...`. Unset: fetched once from " +
      "`GET {base}/webhooks/default/secret` and cached.",
  ),
  PREDICTION_HANDLE_SECRET: optional(z.string().min(16, "must be at least 16 characters")).describe(
    "Signs the prediction handles that `Location` names (`/api/ai/replicate/{id}.{mac}`), so `GET` and " +
      "`DELETE` answer only the caller who started the prediction. Unset: a key derived from " +
      "`REPLICATE_API_TOKEN` (rotating the token then retires the handles made with it).",
  ),
  REPLICATE_START_TIMEOUT_SECONDS: optional(number(1, MAX_TIMEOUT_SECONDS, false)).describe(
    "Start watchdog (opt-in): a prediction this app follows that is still `starting` (waiting for a machine: a cold boot) after this " +
      'many seconds is canceled and answered 504 "Model did not start in time". Replicate does not bill public models for a ' +
      "prediction that never started. Unset: wait for the boot, up to REPLICATE_TIMEOUT_SECONDS.",
  ),
});

export function parseConfig(env: Env): ReplicateSettings {
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
    startTimeoutSeconds: vars.REPLICATE_START_TIMEOUT_SECONDS,
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

/**
 * Settings from a typed object: what is not given takes the default the environment would give
 * when its variable is unset (one set of defaults, the schema's), the sync wait clamped the same way.
 */
export function replicateSettings(input: ReplicateSettingsInput): ReplicateSettings {
  const defaults = parseEnv(envSchema, { REPLICATE_API_TOKEN: input.token });
  const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as ReplicateSettingsInput;
  const timeoutSeconds = given.timeoutSeconds ?? defaults.REPLICATE_TIMEOUT_SECONDS;
  return {
    pollIntervalMs: defaults.REPLICATE_POLL_INTERVAL_MS,
    asyncTimeoutSeconds: defaults.REPLICATE_ASYNC_TIMEOUT_SECONDS,
    maxBodyBytes: defaults.REPLICATE_MAX_BODY_BYTES,
    inlineMaxBytes: defaults.REPLICATE_INLINE_MAX_BYTES,
    webhookMaxBodyBytes: defaults.REPLICATE_WEBHOOK_MAX_BODY_BYTES,
    pollBudgetPerMinute: defaults.REPLICATE_POLL_BUDGET_PER_MINUTE,
    createsPerMinute: defaults.REPLICATE_CREATES_PER_MINUTE,
    handleSecret: input.token,
    ...given,
    baseUrl: (given.baseUrl ?? defaults.REPLICATE_API_BASE_URL).replace(/\/+$/, ""),
    webhookUrl: given.webhookUrl?.replace(/\/+$/, ""),
    timeoutSeconds,
    syncWaitSeconds: clampSyncWait(given.syncWaitSeconds ?? defaults.REPLICATE_SYNC_WAIT_SECONDS, timeoutSeconds),
  };
}

/** A cap past Replicate's 30-minute run limit (logged once per configuration, as it is parsed). */
export function warnOfRunLimit(timeoutSeconds: number): void {
  if (timeoutSeconds <= PLATFORM_RUN_LIMIT_SECONDS) return;
  logWarning(
    "timeout_past_run_limit",
    `REPLICATE_TIMEOUT_SECONDS=${timeoutSeconds} is above ${PLATFORM_RUN_LIMIT_SECONDS}: Replicate ends runs at 30 minutes ` +
      "(the prediction fails, timed out) unless the account's limit was raised by Replicate's support.",
  );
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

export const guardEnvSchema = z.object({
  ROUTE_API_KEY: optional(
    z
      .string()
      .regex(/^[\x21-\x7e]{16,512}$/, "must be 16 to 512 visible ASCII characters, no spaces (e.g. `openssl rand -hex 32`)"),
  ).describe(
    "A secret every caller sends as `Authorization: Bearer <key>` (compared in constant time); the demo page " +
      "asks for it once and keeps it in the tab's session storage. 16 to 512 visible ASCII characters, e.g. " +
      "`openssl rand -hex 32`. Unset: **the route is open** to anyone who can reach this server, on your " +
      "Replicate bill (the server log says so at the first request).",
  ),
  APP_ORIGIN: optional(z.string())
    .transform((value, context) => {
      const origins = (value ?? "")
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean)
        .map(originOf);
      if (origins.includes(null)) context.addIssue({ code: "custom", message: "must be http(s) origins, comma-separated" });
      return origins.filter((origin): origin is string => origin !== null);
    })
    .describe(
      "Browser requests from another site are always refused (`403`). The app's own origin is the request's " +
        "`Host` / `X-Forwarded-Host`; list here any other origin your pages are served from, comma-separated, " +
        "e.g. `https://www.example.com,https://example.com`.",
    ),
  REPLICATE_RATE_LIMIT: optional(z.string())
    .transform((value, context) => {
      if (value === undefined) return undefined;
      const rule = parseRateRule(value);
      if (!rule) context.addIssue({ code: "custom", message: "must look like 10/min (units: s, min, h)" });
      return rule ?? undefined;
    })
    .describe(
      "Predictions a client may start, e.g. `10/min`, `1/s`, `100/h`, `30/5min` (a token bucket: `N` at once, " +
        "then one every period/`N`); past it `429` with `Retry-After`. A client is the authenticated caller (all " +
        "holders of `ROUTE_API_KEY` count as one), else its IP address. Counted in the process's memory, or on " +
        "Redis for all instances together with `REDIS_URL`. Unset: no per-client limit.",
    ),
  REPLICATE_MAX_IN_FLIGHT: optional(number(1, 1_000_000, true))
    .transform((v) => v ?? DEFAULT_MAX_IN_FLIGHT)
    .describe(
      "Requests this process serves at once (a stream counts until it ends); past it `503` with `Retry-After` " +
        "before the body is read or anything reaches Replicate. Cancels (`DELETE`) are never refused.",
    ),
  TRUST_PROXY: optional(number(0, 10, true, "must be the number of proxies in front of the app (0, 1, 2...)"))
    .transform((v) => v ?? 0)
    .describe(
      "How many proxies in front of the app append to `x-forwarded-for` (`0` trusts none). The client's address " +
        "is read from the entry the outermost of them wrote: set `1` behind one proxy (Vercel, nginx, a load " +
        "balancer). With `0`, anonymous clients cannot be told apart and share one rate-limit allowance.",
    ),
  REPLICATE_BODY_TIMEOUT_SECONDS: optional(number(1, 300, false))
    .transform((v) => v ?? DEFAULT_BODY_TIMEOUT_SECONDS)
    .describe(
      "A request body that has not fully arrived this many seconds after reading began is answered `408` and " +
        "its in-flight slot freed, so a slow sender cannot hold it.",
    ),
  REPLICATE_BODY_BUDGET_BYTES: optional(number(1024 * 1024, 2 ** 50, true))
    .transform((v) => v ?? DEFAULT_BODY_BUDGET_BYTES)
    .describe(
      "Request-body bytes this whole process holds at once, summed over the requests in flight (webhooks " +
        "included) and counted until each answer ends; past it `503` with `Retry-After`. A request holds at most " +
        "3 times its body, so the default 512 MiB caps bodies at about 1.5 GiB.",
    ),
  REPLICATE_WEBHOOK_MAX_IN_FLIGHT: optional(number(1, 100_000, true))
    .transform((v) => v ?? DEFAULT_WEBHOOK_MAX_IN_FLIGHT)
    .describe(
      "Webhook deliveries read at once (each also holds a `REPLICATE_MAX_IN_FLIGHT` slot); past it `503` with " +
        "`Retry-After`. Their signature headers are checked before any body is read.",
    ),
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

/** The guards' settings from a typed object: what is not given takes the environment's default. */
export function guardSettings(input: Partial<GuardConfig> = {}): GuardConfig {
  const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  return { ...parseGuardConfig({}), ...given };
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
export function secretValues(env: Env): string[] {
  const named = SECRET_NAMES.map((name) => env[name]?.trim() ?? "").filter((value) => value.length >= 6);
  return [...named, ...redisSecretValues(env)];
}
