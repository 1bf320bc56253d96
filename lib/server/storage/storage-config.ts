import "server-only";
// The OUTPUT_* variables: whether and where Replicate's output files are kept, parsed with zod
// apart from the Replicate settings (lib/server/config.ts), read at first use, never at import.
// A malformed or missing variable is a 500 problem naming it (never its value), like the rest of
// the configuration; keepOutputs() turns it into `outputs_kept: false` instead, so a prediction
// already paid for is still answered.

import { configProblem, envNumber, optional, parseEnv, type Env } from "../env";
import { z } from "zod";
import { Problem } from "../problem";
import { FsOutputStore } from "./fs-output-store";
import { deriveSigningKey, OutputUrlSigner } from "./output-url-signer";
import { S3OutputStore, type S3StoreSettings } from "./s3-output-store";

export interface CopyLimits {
  /** Largest output file copied; a larger one is not kept. */
  maxBytes: number;
  /** Time one file may take, from asking its host to the last byte stored. */
  timeoutMs: number;
  /** Files copied at once for one prediction. */
  concurrency: number;
}

export type OutputStorageConfig =
  | { kind: "off" }
  | ({ kind: "fs"; dir: string; signingKey: Buffer } & CopySettings)
  | ({ kind: "s3"; s3: S3StoreSettings } & CopySettings);

export interface CopySettings {
  limits: CopyLimits;
  /** Hosts output files are fetched from (`*.` for any subdomain); other URLs in `output` are text. */
  sourceHosts: string[];
}

export const STORAGE_ENV_NAMES = [
  "OUTPUT_STORAGE",
  "OUTPUT_STORAGE_DIR",
  "OUTPUT_URL_SECRET",
  "OUTPUT_S3_BUCKET",
  "OUTPUT_S3_ENDPOINT",
  "OUTPUT_S3_FORCE_PATH_STYLE",
  "OUTPUT_S3_PREFIX",
  "OUTPUT_S3_PUBLIC_URL",
  "OUTPUT_S3_URL_EXPIRES_SECONDS",
  "OUTPUT_MAX_BYTES",
  "OUTPUT_COPY_TIMEOUT_SECONDS",
  "OUTPUT_COPY_CONCURRENCY",
  "OUTPUT_SOURCE_HOSTS",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  // Read, never stored: the default secret of fs URLs and the simulator's file host.
  "REPLICATE_API_TOKEN",
  "REPLICATE_API_BASE_URL",
] as const;

/** The secrets among them, for the log's redaction list (config.ts `SECRET_NAMES`; not wired yet). */
export const STORAGE_SECRET_NAMES = ["OUTPUT_URL_SECRET", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] as const;

/** Replicate serves output files from here (never the API host: they get no token). */
export const REPLICATE_FILE_HOSTS = ["replicate.delivery", "*.replicate.delivery"];

const unset = optional;
const whole = (min: number, max: number) => envNumber(min, max, true);

const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, error: `must be ${what}` }).transform((url) => url.replace(/\/+$/, ""));

const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;

export const storageEnvSchema = z.object({
  OUTPUT_STORAGE: unset(z.enum(["off", "fs", "s3"], { error: "must be off, fs or s3" }))
    .transform((v) => v ?? "off")
    .describe(
      "Where succeeded predictions' output files are copied before answering (Replicate deletes an API " +
        "prediction's files an hour after it ends): `off` (answers carry Replicate's URLs), `fs` (files on this " +
        "server, served by `/api/ai/replicate/outputs/{token}`) or `s3` (an S3-compatible bucket: AWS S3, " +
        "Cloudflare R2, MinIO).",
    ),
  OUTPUT_STORAGE_DIR: unset(z.string())
    .transform((v) => v ?? ".data/outputs")
    .describe(
      "`OUTPUT_STORAGE=fs`: the folder the files go to (the default is git-ignored). Several instances need a shared one.",
    ),
  OUTPUT_URL_SECRET: unset(z.string().min(32, "must be at least 32 characters (e.g. `openssl rand -hex 32`)")).describe(
    "`OUTPUT_STORAGE=fs`: the secret file URLs are signed with, 32 characters or more (e.g. `openssl rand -hex 32`). " +
      "Unset: a key derived from `REPLICATE_API_TOKEN` (rotating the token then ends every URL issued).",
  ),
  OUTPUT_S3_BUCKET: unset(
    z.string().regex(/^[a-z0-9][a-z0-9.-]{1,62}$/, "must be a bucket name (lowercase letters, digits, dots, hyphens)"),
  ).describe("`OUTPUT_STORAGE=s3`: the bucket (required with `s3`)."),
  OUTPUT_S3_ENDPOINT: unset(httpUrl("an http(s) URL, e.g. https://<account>.r2.cloudflarestorage.com")).describe(
    "`OUTPUT_STORAGE=s3`: the S3 API endpoint of R2 (`https://<account>.r2.cloudflarestorage.com`), MinIO " +
      "(`http://127.0.0.1:9000`)... Unset: AWS S3.",
  ),
  OUTPUT_S3_FORCE_PATH_STYLE: unset(z.enum(["true", "false"], { error: "must be true or false" })).describe(
    "`OUTPUT_STORAGE=s3`: `true` for path-style requests (`endpoint/bucket/key`), as MinIO needs. Unset: `true` " +
      "with `OUTPUT_S3_ENDPOINT`, else `false`.",
  ),
  OUTPUT_S3_PREFIX: unset(
    z.string().regex(/^([A-Za-z0-9][A-Za-z0-9._-]*\/)*$/, "must be folder names each ending in /, e.g. replicate/"),
  )
    .transform((v) => v ?? "")
    .describe("`OUTPUT_STORAGE=s3`: prepended to every object key, e.g. `replicate/` (folder names, each ending in `/`)."),
  OUTPUT_S3_PUBLIC_URL: unset(httpUrl("the http(s) URL the bucket is served under")).describe(
    "`OUTPUT_STORAGE=s3`: the public origin the bucket is served under (a CDN, an R2 custom domain); answers " +
      "carry `{url}/{prefix}{key}`. Unset: pre-signed GET URLs, signed afresh each time a prediction is answered.",
  ),
  OUTPUT_S3_URL_EXPIRES_SECONDS: unset(whole(1, 604_800))
    .transform((v) => v ?? 86_400)
    .describe("`OUTPUT_STORAGE=s3`: how long a pre-signed URL works, in seconds (at most 7 days, SigV4's limit)."),
  OUTPUT_MAX_BYTES: unset(whole(1, 5 * 1024 ** 3))
    .transform((v) => v ?? 100 * 1024 * 1024)
    .describe(
      "Largest output file kept, in bytes (checked on `Content-Length` and on the bytes themselves); a larger " +
        "one is not kept and the answer says so. The default is 100 MiB.",
    ),
  OUTPUT_COPY_TIMEOUT_SECONDS: unset(whole(1, 3600))
    .transform((v) => v ?? 60)
    .describe("Seconds one file may take to copy, from asking its host to the last byte stored."),
  OUTPUT_COPY_CONCURRENCY: unset(whole(1, 64))
    .transform((v) => v ?? 4)
    .describe("Files of one prediction copied at once."),
  OUTPUT_SOURCE_HOSTS: unset(z.string())
    .transform((value, context) => {
      if (value === undefined) return undefined;
      const hosts = value
        .split(",")
        .map((host) => host.trim().toLowerCase())
        .filter(Boolean);
      if (hosts.length === 0 || !hosts.every((host) => HOST.test(host))) {
        context.addIssue({ code: "custom", message: "must be host names, comma-separated (*.example.com for subdomains)" });
      }
      return hosts;
    })
    .describe(
      "Hosts output files are fetched from, comma-separated (`*.example.com` for subdomains); any other URL in " +
        "`output` is text, never fetched. Unset: `replicate.delivery` and its subdomains, plus the host of " +
        "`REPLICATE_API_BASE_URL` when it is not Replicate's (the simulator serves files there).",
    ),
  AWS_REGION: unset(z.string().regex(/^[a-z0-9-]{2,32}$/, "must be a region name such as us-east-1 (R2: auto)"))
    .transform((v) => v ?? "us-east-1")
    .describe("`OUTPUT_STORAGE=s3`: the bucket's region (R2: `auto`)."),
  AWS_ACCESS_KEY_ID: unset(z.string()).describe(
    "`OUTPUT_STORAGE=s3`: the access key; set it with `AWS_SECRET_ACCESS_KEY`, or neither to use the AWS SDK's " +
      "default chain (an instance or task role, `~/.aws`).",
  ),
  AWS_SECRET_ACCESS_KEY: unset(z.string()).describe(
    "`OUTPUT_STORAGE=s3`: the secret key that goes with `AWS_ACCESS_KEY_ID`. Never logged.",
  ),
  AWS_SESSION_TOKEN: unset(z.string()).describe("`OUTPUT_STORAGE=s3`: a session token, for temporary credentials. Never logged."),
  REPLICATE_API_TOKEN: unset(z.string()),
  REPLICATE_API_BASE_URL: unset(z.string()),
});

export function parseStorageConfig(env: Env): OutputStorageConfig {
  const vars = parseEnv(storageEnvSchema, env);
  if (vars.OUTPUT_STORAGE === "off") return { kind: "off" };
  const copy = copySettingsOf(vars);
  if (vars.OUTPUT_STORAGE === "fs") {
    const secret = vars.OUTPUT_URL_SECRET ?? vars.REPLICATE_API_TOKEN?.trim();
    if (!secret)
      throw storageProblem("OUTPUT_STORAGE=fs signs its file URLs with OUTPUT_URL_SECRET, else REPLICATE_API_TOKEN: set one");
    return { kind: "fs", dir: vars.OUTPUT_STORAGE_DIR, signingKey: deriveSigningKey(secret), ...copy };
  }
  if (!vars.OUTPUT_S3_BUCKET) throw storageProblem("OUTPUT_S3_BUCKET is required when OUTPUT_STORAGE=s3");
  if ((vars.AWS_ACCESS_KEY_ID === undefined) !== (vars.AWS_SECRET_ACCESS_KEY === undefined)) {
    throw storageProblem(
      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both, or neither to use the SDK's default credentials",
    );
  }
  const credentials =
    vars.AWS_ACCESS_KEY_ID && vars.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: vars.AWS_ACCESS_KEY_ID, secretAccessKey: vars.AWS_SECRET_ACCESS_KEY, sessionToken: vars.AWS_SESSION_TOKEN }
      : undefined;
  return {
    kind: "s3",
    s3: {
      bucket: vars.OUTPUT_S3_BUCKET,
      region: vars.AWS_REGION,
      endpoint: vars.OUTPUT_S3_ENDPOINT,
      // MinIO and most self-hosted servers only answer path-style requests; AWS prefers virtual hosts.
      forcePathStyle: (vars.OUTPUT_S3_FORCE_PATH_STYLE ?? String(vars.OUTPUT_S3_ENDPOINT !== undefined)) === "true",
      prefix: vars.OUTPUT_S3_PREFIX,
      publicUrl: vars.OUTPUT_S3_PUBLIC_URL,
      urlExpiresSeconds: vars.OUTPUT_S3_URL_EXPIRES_SECONDS,
      credentials,
    },
    ...copy,
  };
}

function copySettingsOf(vars: z.infer<typeof storageEnvSchema>): CopySettings {
  return {
    limits: {
      maxBytes: vars.OUTPUT_MAX_BYTES,
      timeoutMs: vars.OUTPUT_COPY_TIMEOUT_SECONDS * 1000,
      concurrency: vars.OUTPUT_COPY_CONCURRENCY,
    },
    sourceHosts: vars.OUTPUT_SOURCE_HOSTS ?? defaultSourceHosts(vars.REPLICATE_API_BASE_URL),
  };
}

/**
 * The file hosts and limits of a copy, whether or not outputs are kept: a download through the app
 * (lib/server/storage/download-output.ts) reads Replicate's file with the same bounds.
 */
export function parseCopySettings(env: Env): CopySettings {
  return copySettingsOf(parseEnv(storageEnvSchema, env));
}

/** Replicate's file hosts, plus the API's own host when it is not Replicate's (the simulator serves files there). */
function defaultSourceHosts(apiBaseUrl: string | undefined): string[] {
  const host = URL.canParse(apiBaseUrl ?? "") ? new URL(apiBaseUrl!).host.toLowerCase() : "api.replicate.com";
  return host === "api.replicate.com" ? REPLICATE_FILE_HOSTS : [...REPLICATE_FILE_HOSTS, host];
}

function storageProblem(detail: string): Problem {
  return configProblem(`${detail}.`);
}

/** Where outputs are kept and how they are copied; null when OUTPUT_STORAGE is off. */
export type OutputStorage = CopySettings & ({ kind: "fs"; store: FsOutputStore } | { kind: "s3"; store: S3OutputStore });

export function createOutputStorage(config: OutputStorageConfig): OutputStorage | null {
  const copy = config.kind === "off" ? null : { limits: config.limits, sourceHosts: config.sourceHosts };
  if (config.kind === "fs")
    return { kind: "fs", store: new FsOutputStore(config.dir, new OutputUrlSigner(config.signingKey)), ...copy! };
  if (config.kind === "s3") return { kind: "s3", store: new S3OutputStore(config.s3), ...copy! };
  return null;
}
