import { z } from "zod";
import { Problem } from "@/lib/problem";

/**
 * The environment, parsed once with zod into a typed object (t3-env style). It is read at the
 * first request, never at import, so `next build` works without any variable set. A missing or
 * malformed variable is answered as a 500 problem naming it, never `undefined` deep in a request.
 */
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
  /** `Prefer: wait=N` on the create; 0 turns it off. */
  syncWaitSeconds: number;
  maxBodyBytes: number;
  /** Non-create calls a minute this process may spend polling (Replicate allows 3,000 an account). */
  pollBudgetPerMinute: number;
  /** The app's public origin: async creates carry a webhook to its webhook route. */
  webhookUrl?: string;
  /** `whsec_...`; when unset the secret is fetched once from Replicate and cached. */
  webhookSecret?: string;
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
  "REPLICATE_MAX_BODY_BYTES",
  "REPLICATE_POLL_BUDGET_PER_MINUTE",
  "REPLICATE_WEBHOOK_URL",
  "REPLICATE_WEBHOOK_SECRET",
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
  REPLICATE_SYNC_WAIT_SECONDS: optional(number(0, 3600, true)).transform((v) => v ?? 60),
  REPLICATE_MAX_BODY_BYTES: optional(number(1, 1024 ** 3, true)).transform((v) => v ?? 10 * 1024 * 1024),
  REPLICATE_POLL_BUDGET_PER_MINUTE: optional(number(60, 1_000_000, true)).transform((v) => v ?? 2400),
  REPLICATE_WEBHOOK_URL: optional(z.url({ protocol: /^https?$/, error: "must be the app's public http(s) origin" })),
  REPLICATE_WEBHOOK_SECRET: optional(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, "must look like whsec_<base64>")),
});

type Env = Record<string, string | undefined>;

export function parseConfig(env: Env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${String(issue.path[0])} ${issue.message}`);
    throw configProblem(`${problems.join("; ")}.`);
  }
  const vars = parsed.data;
  return {
    token: vars.REPLICATE_API_TOKEN,
    target: modelTarget(vars),
    baseUrl: vars.REPLICATE_API_BASE_URL,
    pollIntervalMs: vars.REPLICATE_POLL_INTERVAL_MS,
    timeoutSeconds: vars.REPLICATE_TIMEOUT_SECONDS,
    syncWaitSeconds: clampSyncWait(vars.REPLICATE_SYNC_WAIT_SECONDS, vars.REPLICATE_TIMEOUT_SECONDS),
    maxBodyBytes: vars.REPLICATE_MAX_BODY_BYTES,
    pollBudgetPerMinute: vars.REPLICATE_POLL_BUDGET_PER_MINUTE,
    webhookUrl: vars.REPLICATE_WEBHOOK_URL?.replace(/\/+$/, ""),
    webhookSecret: vars.REPLICATE_WEBHOOK_SECRET,
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

let cached: { key: string; result: Config | Problem } | undefined;

/**
 * The configuration of the current environment, parsed once per distinct environment (the key is
 * the variables' raw values, so a test that changes `process.env` gets a fresh parse).
 */
export function getConfig(env: Env = process.env): Config {
  const key = ENV_NAMES.map((name) => env[name] ?? "").join("\u0000");
  if (cached?.key !== key) {
    let result: Config | Problem;
    try {
      result = parseConfig(env);
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      result = error;
    }
    cached = { key, result };
  }
  if (cached.result instanceof Problem) throw cached.result;
  return cached.result;
}
