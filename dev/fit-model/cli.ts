/**
 * `npm run model -- [owner/name[:version] | deployment:owner/name] [--out <file>] [--write-env]`:
 * fetches the model version's schema (a deployment's: its current release's) and writes
 * app/api/ai/replicate/schema.ts from it (generate.ts). Without an argument it reads the configured
 * REPLICATE_MODEL_VERSION (owner/name:version), REPLICATE_MODEL or REPLICATE_DEPLOYMENT.
 * It writes nothing when anything fails, and nothing when the file would come out the same.
 * main.ts loads .env.local / .env and calls runCli; tests call runCli with their own env and fetch.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { DEPLOYMENT_VARIABLE, otherTargets, setsVariable, VERSION_VARIABLE, withTarget, type TargetVariable } from "./env-file";
import {
  fetchDeploymentVersion,
  fetchModelVersion,
  ModelLookupError,
  parseDeploymentName,
  parseFitTarget,
  parseModelRef,
  type DeploymentRef,
  type ModelRef,
} from "./fetch-schema";
import { generateSchemaFile } from "./generate";
import { UnexpressibleSchemaError } from "./json-schema";

export const DEFAULT_OUT = "app/api/ai/replicate/schema.ts";
const DEFAULT_BASE_URL = "https://api.replicate.com/v1";
const ENV_FILE = ".env.local";

export interface CliIo {
  env: Record<string, string | undefined>;
  /** Where relative paths (--out, .env.local) are resolved. */
  cwd: string;
  fetch?: typeof fetch;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

const USAGE = `Usage: npm run model -- [owner/name[:version] | deployment:owner/name] [--out <file>] [--write-env]

Writes ${DEFAULT_OUT} from the model version's input schema.
  owner/name[:version]   the model (its latest version when no version is given); default: the
                         configured REPLICATE_MODEL_VERSION (owner/name:version), REPLICATE_MODEL
                         or REPLICATE_DEPLOYMENT
  deployment:owner/name  the version your deployment runs now (its current release)
  --out <file>           the file to write (default ${DEFAULT_OUT})
  --write-env            also set ${VERSION_VARIABLE} (${DEPLOYMENT_VARIABLE} for a deployment) in ${ENV_FILE}
Reads REPLICATE_API_TOKEN and REPLICATE_API_BASE_URL from the environment, ${ENV_FILE} and .env.`;

class UsageError extends Error {}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    await fitModel(argv, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ModelLookupError || error instanceof UnexpressibleSchemaError) {
      io.stderr(`npm run model: ${error.message}\nNothing was written.`);
      return 1;
    }
    throw error;
  }
}

async function fitModel(argv: string[], io: CliIo): Promise<void> {
  const args = parseCliArgs(argv);
  if (args.help) {
    io.stdout(USAGE);
    return;
  }
  const ref = args.model ? parseFitTarget(args.model) : configuredTarget(io.env);
  const token = io.env.REPLICATE_API_TOKEN?.trim();
  if (!token) {
    throw new ModelLookupError(`REPLICATE_API_TOKEN is not set: put it in ${ENV_FILE} (see .env.example) or in the environment.`);
  }
  const baseUrl = io.env.REPLICATE_API_BASE_URL?.trim() || DEFAULT_BASE_URL;

  const options = { baseUrl, token, fetch: io.fetch };
  const fetched =
    "deployment" in ref ? await fetchDeploymentVersion(ref.deployment, options) : await fetchModelVersion(ref, options);
  const model = `${fetched.owner}/${fetched.name}`;
  const generated = generateSchemaFile({
    model,
    version: fetched.version,
    openapiSchema: fetched.openapiSchema,
    deployment: fetched.deployment,
  });
  const target = `${model}:${fetched.version}`;

  const outPath = path.resolve(io.cwd, args.out ?? DEFAULT_OUT);
  const shown = path.relative(io.cwd, outPath);
  if ((await readIfExists(outPath)) === generated.source) {
    io.stdout(`${shown} unchanged (${target}).`);
  } else {
    await writeAtomically(outPath, generated.source);
    const through = fetched.deployment ? ` (the deployment ${fetched.deployment} runs it)` : "";
    io.stdout(`Wrote ${shown} from ${target}${through}: ${generated.fields.join(", ")}.`);
  }
  for (const { field, reason } of generated.unchecked) {
    io.stdout(`  ${field} is not checked by the route (${reason}): look at it in ${shown}.`);
  }

  // A deployment is run through its own endpoint (it may move to a new release); a model by its version.
  const variable: TargetVariable = fetched.deployment ? DEPLOYMENT_VARIABLE : VERSION_VARIABLE;
  const value = fetched.deployment ?? target;
  if (args.writeEnv) await writeEnvFile(io, variable, value);
  else if (io.env[variable]?.trim() === value) io.stdout(`${variable} is already ${value}.`);
  else
    io.stdout(
      `Next: set ${variable}=${value} in ${ENV_FILE} (and leave ${otherTargets(variable).join(" and ")} empty), or run again with --write-env.`,
    );
  if (fetched.isOfficial && !fetched.deployment)
    io.stdout(`${model} is an official model: REPLICATE_MODEL=${model} works too and always runs its latest version.`);
}

function parseCliArgs(argv: string[]): { model?: string; out?: string; writeEnv: boolean; help: boolean } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: "string" }, "write-env": { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
    if (positionals.length > 1) throw new UsageError(`One model at a time, got ${positionals.length}: ${positionals.join(" ")}.`);
    return {
      model: positionals[0],
      out: values.out,
      writeEnv: values["write-env"] === true,
      help: values.help === true,
    };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function configuredTarget(env: CliIo["env"]): ModelRef | DeploymentRef {
  const version = env.REPLICATE_MODEL_VERSION?.trim();
  if (version) return parseModelRef(version, VERSION_VARIABLE);
  const model = env.REPLICATE_MODEL?.trim();
  if (model) return parseModelRef(model, "REPLICATE_MODEL");
  const deployment = env.REPLICATE_DEPLOYMENT?.trim();
  if (deployment) return { deployment: parseDeploymentName(deployment, DEPLOYMENT_VARIABLE) };
  throw new UsageError(
    `Name a model, or set ${VERSION_VARIABLE} (owner/name:version), REPLICATE_MODEL (owner/name) or ${DEPLOYMENT_VARIABLE} (owner/name).`,
  );
}

async function writeEnvFile(io: CliIo, variable: TargetVariable, value: string): Promise<void> {
  const envPath = path.join(io.cwd, ENV_FILE);
  const before = (await readIfExists(envPath)) ?? "";
  const after = withTarget(before, variable, value);
  if (after === before) io.stdout(`${ENV_FILE} already has ${variable}=${value}.`);
  else {
    await writeAtomically(envPath, after);
    const replaced = otherTargets(variable).filter((name) => setsVariable(before, name));
    const also = replaced.length > 0 ? ` (commented out ${replaced.join(" and ")} there)` : "";
    io.stdout(`Wrote ${variable}=${value} to ${ENV_FILE}${also}.`);
  }
  // A value from the shell or from .env still competes with it; only the user can unset that.
  for (const name of otherTargets(variable)) {
    if (io.env[name]?.trim() && !setsVariable(before, name)) {
      io.stderr(`${name} is also set (in your shell or .env): unset it, the route wants exactly one of the three.`);
    }
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

// Written beside and renamed into place, so an interrupted run never leaves half a file.
async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, "utf8");
  await rename(temporary, file);
}
