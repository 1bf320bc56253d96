/**
 * `npm run doctor`: checks a real setup before the first paid prediction, with the route's own
 * configuration loading (lib/server/config.ts and its neighbours) and its own transport. One line
 * per check, `ok` / `warn` / `fail`, each failure saying what to do; any `fail` makes the exit code
 * non-zero. Nothing it prints carries the token or another secret (every line is redacted, as the
 * route's log is). Nothing is billed unless `run` is set (`--run`): then one prediction runs with
 * the schema's example input, after saying so.
 *
 * main.ts loads the environment as Next.js does and calls runDoctor; tests call it with their own
 * environment, schema module and a simulated Replicate.
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { text as readText } from "node:stream/consumers";
import { z } from "zod";
import {
  fetchDeploymentVersion,
  fetchModelVersion,
  ModelLookupError,
  parseModelRef,
  type FetchedVersion,
} from "@/dev/fit-model/fetch-schema";
import { parseGeneratedFrom, type GeneratedFrom } from "@/dev/fit-model/generated-from";
import { parseConfig, parseGuardConfig, secretValues, type Config } from "@/lib/server/config";
import { configWithEngine } from "@/lib/server/engine";
import { redact } from "@/lib/server/log";
import { Problem } from "@/lib/server/problem";
import { runPrediction } from "@/lib/server/replicate/run-prediction";
import { callReplicate } from "@/lib/server/replicate/transport";
import { webhookSecret } from "@/lib/server/replicate/webhooks";
import { parseEnv } from "@/lib/server/env";
import { parseRedisConfig } from "@/lib/server/shared-state/redis-config";
import { parseSpendConfig } from "@/lib/server/spend-guard/spend-config";
import { RedisConnection } from "@/lib/server/shared-state/redis-connection";
import { createOutputStorage, parseStorageConfig } from "@/lib/server/storage/storage-config";
import { telemetryEnvSchema } from "@/lib/server/telemetry-sdk";
import { compareInputs, exampleInput, type SchemaModule } from "./schema-drift";

export type Verdict = "ok" | "warn" | "fail";

export interface DoctorOptions {
  env: Record<string, string | undefined>;
  /** schema.ts's text (for what it records of its source) and the module itself. */
  schemaText: string;
  schema: SchemaModule;
  /** `--run`: one real (billed) prediction. */
  run?: boolean;
  print: (line: string) => void;
  /** For the model lookups (dev/fit-model/fetch-schema.ts); default: global fetch. */
  fetch?: typeof fetch;
}

const CALL_BUDGET_MS = 15_000;

export async function runDoctor(options: DoctorOptions): Promise<number> {
  const secrets = secretValues(options.env);
  let failed = false;
  const report = (verdict: Verdict, check: string, message: string) => {
    if (verdict === "fail") failed = true;
    options.print(redact(`${verdict.padEnd(4)}  ${check}: ${message}`, secrets));
  };

  const config = checkConfiguration(options.env, report);
  if (config) {
    const account = await checkToken(config, report);
    if (account) {
      const target = await checkTarget(config, options, report);
      if (target) checkSchema(target, options, report);
      await checkWebhook(config, report);
    }
  }
  await checkRedis(options.env, report);
  await checkStorage(options.env, report);
  if (options.run && config && !failed) await runOnePrediction(config, options, report);
  else if (options.run) report("fail", "run", "not run: fix the failures above first (nothing was billed).");
  return failed ? 1 : 0;
}

type Report = (verdict: Verdict, check: string, message: string) => void;

// ---- configuration -----------------------------------------------------------------------------

function checkConfiguration(env: DoctorOptions["env"], report: Report): Config | null {
  let config: Config | null = null;
  const parts: Array<[string, () => unknown]> = [
    ["Replicate", () => (config = configWithEngine(parseConfig(env)))],
    ["guard", () => parseGuardConfig(env)],
    ["Redis", () => parseRedisConfig(env)],
    ["output storage", () => parseStorageConfig(env)],
    ["spend guard", () => parseSpendConfig(env)],
    ["OpenTelemetry", () => parseEnv(telemetryEnvSchema, env)],
  ];
  const problems: string[] = [];
  for (const [name, parse] of parts) {
    try {
      parse();
    } catch (error) {
      problems.push(`${name}: ${error instanceof Problem ? error.detail : String(error)}`);
    }
  }
  if (problems.length > 0) {
    report("fail", "config", `${problems.join(" ")} Fix it in .env.local (every variable is listed in .env.example).`);
    return config;
  }
  report("ok", "config", `every variable parses as the route reads it (${describeTarget(config!)}).`);
  return config;
}

function describeTarget(config: Config): string {
  const { target } = config;
  if (target.kind === "version") return `REPLICATE_MODEL_VERSION=${target.version}`;
  return `${target.kind === "model" ? "REPLICATE_MODEL" : "REPLICATE_DEPLOYMENT"}=${target.owner}/${target.name}`;
}

// ---- Replicate ---------------------------------------------------------------------------------

async function checkToken(config: Config, report: Report): Promise<string | null> {
  try {
    const { data } = await callReplicate<{ username?: string; name?: string; type?: string }>(config, {
      method: "GET",
      path: "/account",
      idempotent: true,
      deadline: Date.now() + CALL_BUDGET_MS,
      accept: (data) => typeof (data as { username?: unknown } | null)?.username === "string",
    });
    const username = data.username ?? "?";
    report("ok", "token", `Replicate knows it: account ${username}${data.type ? ` (${data.type})` : ""} at ${config.baseUrl}.`);
    return username;
  } catch (error) {
    const problem = error instanceof Problem ? error : null;
    if (problem?.status === 401 || problem?.status === 403)
      report(
        "fail",
        "token",
        `Replicate refused REPLICATE_API_TOKEN (${problem.status}: ${problem.detail}). Create a token at https://replicate.com/account/api-tokens and put it in .env.local.`,
      );
    else
      report(
        "fail",
        "token",
        `GET ${config.baseUrl}/account failed (${describe(error)}). Check your network and REPLICATE_API_BASE_URL.`,
      );
    return null;
  }
}

interface Target {
  /** What the configuration names, e.g. "REPLICATE_MODEL=acme/model". */
  setting: string;
  fetched: FetchedVersion;
}

async function checkTarget(config: Config, options: DoctorOptions, report: Report): Promise<Target | null> {
  const lookup = { baseUrl: config.baseUrl, token: config.token, fetch: options.fetch, timeoutMs: CALL_BUDGET_MS };
  const { target } = config;
  const setting = describeTarget(config);
  try {
    if (target.kind === "deployment") {
      const fetched = await fetchDeploymentVersion(target, lookup);
      report(
        "ok",
        "model",
        `the deployment ${fetched.deployment} runs ${fetched.owner}/${fetched.name}:${short(fetched.version)}.`,
      );
      return { setting, fetched };
    }
    if (target.kind === "model") {
      const fetched = await fetchModelVersion({ owner: target.owner, name: target.name }, lookup);
      const model = `${target.owner}/${target.name}`;
      if (!fetched.isOfficial) {
        report(
          "fail",
          "model",
          `${model} exists, but is not an official model: REPLICATE_MODEL runs only official ones. Pin its version instead: npm run model -- ${model} --write-env.`,
        );
        return { setting, fetched };
      }
      report("ok", "model", `${model} is an official model; its latest version is ${short(fetched.version)}.`);
      return { setting, fetched };
    }
    const ref = versionRef(target.version, options.schemaText);
    if (!ref) {
      report(
        "warn",
        "model",
        `REPLICATE_MODEL_VERSION is a bare version id; Replicate looks a version up only under its model. Write it as owner/name:${short(target.version)}… to have it checked.`,
      );
      return null;
    }
    const fetched = await fetchModelVersion(ref, lookup);
    report("ok", "model", `${ref.owner}/${ref.name} has the version ${short(fetched.version)}.`);
    return { setting, fetched };
  } catch (error) {
    if (error instanceof ModelLookupError) report("fail", "model", `${setting}: ${error.message}`);
    else report("fail", "model", `${setting}: the lookup failed (${describe(error)}).`);
    return null;
  }
}

/** owner/name:version from the setting, or from schema.ts when the setting is a bare id it records. */
function versionRef(version: string, schemaText: string) {
  if (version.includes(":")) return parseModelRef(version, "REPLICATE_MODEL_VERSION");
  const from = parseGeneratedFrom(schemaText);
  return from && from.version === version.toLowerCase() ? parseModelRef(`${from.model}:${from.version}`) : null;
}

function checkSchema(target: Target, options: DoctorOptions, report: Report): void {
  const from: GeneratedFrom | null = parseGeneratedFrom(options.schemaText);
  const running = `${target.fetched.owner}/${target.fetched.name}:${short(target.fetched.version)}`;
  if (from && from.model === `${target.fetched.owner}/${target.fetched.name}` && from.version === target.fetched.version) {
    report("ok", "schema", `schema.ts was generated from ${running}, the version ${target.setting} runs.`);
    return;
  }
  const drift = compareInputs(options.schema, target.fetched.openapiSchema);
  const source = from ? `generated from ${from.model}:${short(from.version)}` : "records no model (written by hand)";
  const model = `${target.fetched.owner}/${target.fetched.name}`;
  const argument = target.fetched.deployment
    ? `deployment:${target.fetched.deployment}`
    : target.setting.startsWith("REPLICATE_MODEL=")
      ? model
      : `${model}:${target.fetched.version}`;
  const refit = `re-run npm run model -- ${argument} and review the diff`;
  if (drift.length === 0) {
    report("ok", "schema", `schema.ts ${source}; ${running} still has its inputs, with compatible types.`);
    return;
  }
  const verb = from && from.model !== model ? "does not fit" : "no longer fits";
  report("warn", "schema", `schema.ts ${source} ${verb} ${running}: ${drift.join("; ")}. To fit it, ${refit}.`);
}

async function checkWebhook(config: Config, report: Report): Promise<void> {
  if (!config.webhookUrl) return;
  try {
    await webhookSecret(config);
    const where = config.webhookSecret ? "REPLICATE_WEBHOOK_SECRET is set" : "Replicate's signing secret was fetched";
    report("ok", "webhook secret", `${where} (not shown).`);
  } catch (error) {
    report(
      "fail",
      "webhook secret",
      `GET /webhooks/default/secret failed (${describe(error)}): webhooks could not be verified. Set REPLICATE_WEBHOOK_SECRET (https://replicate.com/account/webhook) or fix the token.`,
    );
  }
  const url = new URL(config.webhookUrl);
  if (url.protocol !== "https:") {
    report(
      "fail",
      "webhook url",
      `REPLICATE_WEBHOOK_URL is ${url.protocol.slice(0, -1)}: Replicate should post to https. Use the app's public https origin.`,
    );
  } else if (isPrivateHost(url.hostname)) {
    report(
      "fail",
      "webhook url",
      `REPLICATE_WEBHOOK_URL names ${url.hostname}, which Replicate cannot reach: use the app's public origin (or leave it unset to poll).`,
    );
  } else {
    report(
      "ok",
      "webhook url",
      `${url.origin} is https and looks public (whether Replicate reaches it is seen on the first delivery).`,
    );
  }
}

function isPrivateHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (name === "localhost" || name.endsWith(".localhost") || name.endsWith(".local") || name.endsWith(".internal")) return true;
  if (!name.includes(".") && !name.includes(":")) return true; // a bare machine name
  if (name === "::1" || name.startsWith("fc") || name.startsWith("fd") || name.startsWith("fe80")) return name.includes(":");
  const octets = name.split(".").map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet))) return false;
  const [a, b] = octets;
  return (
    a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)
  );
}

// ---- Redis -------------------------------------------------------------------------------------

async function checkRedis(env: DoctorOptions["env"], report: Report): Promise<void> {
  let settings: ReturnType<typeof parseRedisConfig>;
  try {
    settings = parseRedisConfig(env);
  } catch {
    return; // said by the config check
  }
  if (!settings.url) return;
  const redis = new RedisConnection({ url: settings.url, keyPrefix: settings.keyPrefix, commandTimeoutMs: 3000, warn: () => {} });
  const key = redis.key(`doctor:${randomUUID()}`);
  try {
    const started = performance.now();
    const echoed = await redis.run(async (client) => {
      await client.set(key, "probe", "PX", 60_000);
      return client.get(key);
    });
    const roundTripMs = (performance.now() - started) / 2;
    await redis.run((client) => client.del(key));
    if (echoed !== "probe") {
      report("fail", "redis", `Redis answered a written probe with ${JSON.stringify(echoed)}: is REDIS_URL a Redis server?`);
      return;
    }
    report("ok", "redis", `reachable; a round trip takes ${roundTripMs.toFixed(1)} ms.`);
    report(...(await persistence(redis)));
  } catch (error) {
    report(
      "fail",
      "redis",
      `REDIS_URL cannot be reached (${describe(error)}). Start Redis or fix REDIS_URL; without it, unset REDIS_URL (one instance only).`,
    );
  } finally {
    await redis.close();
  }
}

/** Whether Redis keeps its data over a restart: idempotency records and leases live there. */
async function persistence(redis: RedisConnection): Promise<[Verdict, string, string]> {
  const info = await redis.run((client) => client.info("persistence")).catch(() => "");
  const aof = /^aof_enabled:(\d)/m.exec(info)?.[1];
  const save = await redis
    .run((client) => client.config("GET", "save") as Promise<string[]>)
    .then((answer) => answer[1] ?? "")
    .catch(() => null);
  if (aof === "1") return ["ok", "redis persistence", "append-only file on: records survive a restart."];
  if (save) return ["ok", "redis persistence", `snapshots on (save ${save}): records survive a restart, bar the last minutes.`];
  if (save === null)
    return [
      "warn",
      "redis persistence",
      "could not tell whether Redis persists (CONFIG is refused, as on many managed servers): check your provider's settings.",
    ];
  return [
    "warn",
    "redis persistence",
    "Redis keeps nothing over a restart (no snapshots, no append-only file): idempotency records would be lost. Turn on appendonly or save.",
  ];
}

// ---- output storage ----------------------------------------------------------------------------

async function checkStorage(env: DoctorOptions["env"], report: Report): Promise<void> {
  let storage: ReturnType<typeof createOutputStorage>;
  try {
    storage = createOutputStorage(parseStorageConfig(env));
  } catch {
    return; // said by the config check
  }
  if (!storage) return;
  const where = storage.kind === "fs" ? `the folder ${storage.store.root}` : `the bucket ${env.OUTPUT_S3_BUCKET}`;
  const key = `doctor-probe/${randomUUID()}.txt`;
  const content = `npm run doctor probe ${new Date().toISOString()}`;
  try {
    await storage.store.put(key, Readable.from([Buffer.from(content)]), {
      contentType: "text/plain",
      size: Buffer.byteLength(content),
    });
  } catch (error) {
    report(
      "fail",
      "storage",
      `cannot write to ${where} (${describe(error)}). Fix its permissions or credentials, or set OUTPUT_STORAGE=off.`,
    );
    return;
  }
  try {
    const body = await storage.store.read(key);
    const back = body ? await readText(body) : null;
    if (back !== content) {
      report(
        "fail",
        "storage",
        `a probe written to ${where} reads back ${back === null ? "as missing" : "changed"}: check OUTPUT_STORAGE's settings.`,
      );
      return;
    }
    await storage.store.delete(key);
    report("ok", "storage", `${storage.kind}: wrote, read back and deleted a probe in ${where}.`);
  } catch (error) {
    report(
      "fail",
      "storage",
      `a probe in ${where} could not be read back or deleted (${describe(error)}): check the permissions.`,
    );
  }
}

// ---- --run -------------------------------------------------------------------------------------

async function runOnePrediction(config: Config, options: DoctorOptions, report: Report): Promise<void> {
  const example = exampleInput(options.schema);
  if ("missing" in example) {
    report(
      "fail",
      "run",
      `schema.ts gives no example for ${example.missing.join(", ")}: add .meta({ examples: [...] }) to each.`,
    );
    return;
  }
  let input: Record<string, unknown>;
  try {
    input = options.schema.toModelInput(options.schema.requestBodySchema.parse(example.body) as never);
  } catch (error) {
    report(
      "fail",
      "run",
      `schema.ts refuses its own example ${JSON.stringify(example.body)} (${describe(error)}): fix its examples.`,
    );
    return;
  }
  options.print(`Running one prediction on ${describeTarget(config)} with ${JSON.stringify(example.body)}: Replicate bills it.`);
  try {
    const { prediction } = await runPrediction(config, input, { receivedAt: Date.now() });
    const predictTime = prediction.metrics?.predict_time;
    const billed =
      typeof predictTime === "number" ? `${predictTime.toFixed(2)} s of predict time billed` : "no predict time reported";
    const verdict: Verdict = prediction.status === "succeeded" ? "ok" : "fail";
    const why = prediction.status === "failed" && prediction.error ? `: ${String(prediction.error)}` : "";
    report(verdict, "run", `prediction ${prediction.id} ${prediction.status}${why} (${billed}).`);
  } catch (error) {
    report("fail", "run", `the prediction could not run (${describe(error)}).`);
  }
}

// ---- helpers -----------------------------------------------------------------------------------

function short(version: string): string {
  return version.slice(0, 12);
}

function describe(error: unknown): string {
  if (error instanceof Problem) return `${error.status} ${error.title}: ${error.detail}`;
  if (error instanceof z.ZodError) return error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join(", ");
  return error instanceof Error ? error.message : String(error);
}
