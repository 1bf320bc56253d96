/**
 * Reads a model version's OpenAPI schema from Replicate: GET {base}/models/{owner}/{name} (its
 * `latest_version`) or GET {base}/models/{owner}/{name}/versions/{id}; for a deployment, GET
 * {base}/deployments/{owner}/{name} first (its `current_release` names the model and version). A dev tool, so plain fetch;
 * the route's own transport (lib/server/replicate/transport.ts) is not involved. Every failure is a
 * ModelLookupError whose message says what to do; none of them carries the token.
 */
import { isObject } from "./json-schema";

export interface ModelRef {
  owner: string;
  name: string;
  /** 64 hex; absent means the model's latest version. */
  version?: string;
}

export interface FetchedVersion {
  owner: string;
  name: string;
  version: string;
  openapiSchema: unknown;
  /** Official models run through POST /models/{owner}/{name}/predictions (REPLICATE_MODEL). */
  isOfficial: boolean;
  /** `owner/name` of the deployment whose current release this version is. */
  deployment?: string;
}

/** A deployment, written `deployment:owner/name` on the command line. */
export interface DeploymentRef {
  deployment: { owner: string; name: string };
}

export const DEPLOYMENT_PREFIX = "deployment:";

export interface FetchOptions {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export class ModelLookupError extends Error {
  override name = "ModelLookupError";
}

const OWNER_NAME = /^[a-z0-9][a-z0-9_.-]*\/[a-z0-9][a-z0-9_.-]*$/i;
const VERSION_ID = /^[0-9a-f]{64}$/i;

/** `owner/name` or `owner/name:<64 hex>`; a bare version id cannot be looked up (the API files versions under models). */
export function parseModelRef(text: string, source = "The model"): ModelRef {
  const trimmed = text.trim();
  if (VERSION_ID.test(trimmed)) {
    throw new ModelLookupError(
      `${source} is a bare version id (${trimmed.slice(0, 8)}...): Replicate's API finds a version only under its model. ` +
        "Pass owner/name:<version> (the model's page on replicate.com names its owner and name).",
    );
  }
  const colon = trimmed.indexOf(":");
  const model = colon === -1 ? trimmed : trimmed.slice(0, colon);
  const version = colon === -1 ? undefined : trimmed.slice(colon + 1);
  if (!OWNER_NAME.test(model) || (version !== undefined && !VERSION_ID.test(version))) {
    throw new ModelLookupError(`${source} must look like owner/name or owner/name:<64-hex version>, not "${trimmed}".`);
  }
  const [owner, name] = model.split("/");
  return { owner, name, version: version?.toLowerCase() };
}

/** `deployment:owner/name` (see DEPLOYMENT_PREFIX) or what parseModelRef reads. */
export function parseFitTarget(text: string, source = "The model"): ModelRef | DeploymentRef {
  const trimmed = text.trim();
  if (!trimmed.toLowerCase().startsWith(DEPLOYMENT_PREFIX)) return parseModelRef(trimmed, source);
  return { deployment: parseDeploymentName(trimmed.slice(DEPLOYMENT_PREFIX.length), source) };
}

export function parseDeploymentName(text: string, source = "The deployment"): DeploymentRef["deployment"] {
  const trimmed = text.trim();
  if (!OWNER_NAME.test(trimmed)) throw new ModelLookupError(`${source} must look like owner/name, not "${trimmed}".`);
  const [owner, name] = trimmed.split("/");
  return { owner, name };
}

/** The version a deployment runs now (its `current_release`), with that version's schema. */
export async function fetchDeploymentVersion(ref: DeploymentRef["deployment"], options: FetchOptions): Promise<FetchedVersion> {
  const label = `${ref.owner}/${ref.name}`;
  const subject: Subject = {
    label: `the deployment ${label}`,
    notFound: `Replicate has no deployment ${label} (404). Your deployments are listed at https://replicate.com/deployments; a deployment of another account needs a token of that account.`,
  };
  const answer = await getJson(`/deployments/${encodeURIComponent(ref.owner)}/${encodeURIComponent(ref.name)}`, subject, options);
  const release = isObject(answer.current_release) ? answer.current_release : undefined;
  const model = typeof release?.model === "string" ? release.model : "";
  const version = typeof release?.version === "string" ? release.version : "";
  if (!release || !model || !version)
    throw new ModelLookupError(
      `The deployment ${label} has no current release naming a model and version: create a release on replicate.com first.`,
    );
  const fetched = await fetchModelVersion(
    parseModelRef(`${model}:${version}`, `The deployment's current release (${model}:${version})`),
    options,
  );
  return { ...fetched, deployment: label };
}

export async function fetchModelVersion(ref: ModelRef, options: FetchOptions): Promise<FetchedVersion> {
  const model = `${ref.owner}/${ref.name}`;
  const modelPath = `/models/${encodeURIComponent(ref.owner)}/${encodeURIComponent(ref.name)}`;
  const subject: Subject = {
    label: model,
    notFound: ref.version
      ? `${model} has no version ${ref.version} (404). Its versions are listed at https://replicate.com/${model}/versions.`
      : `Replicate has no model ${model} (404). Check the spelling (https://replicate.com/${model}); a private model needs a token of an account that can see it.`,
  };
  const answer = await getJson(ref.version ? `${modelPath}/versions/${ref.version}` : modelPath, subject, options);
  const version = ref.version ? answer : answer.latest_version;
  if (!isObject(version))
    throw new ModelLookupError(`${model} has no version yet (its latest_version is empty): nothing to read.`);
  const id = typeof version.id === "string" ? version.id : ref.version;
  if (!id) throw new ModelLookupError(`Replicate's answer for ${model} names no version id.`);
  if (!isObject(version.openapi_schema)) {
    throw new ModelLookupError(`${model}:${id} publishes no openapi_schema: write schema.ts by hand from the model's page.`);
  }
  return {
    owner: ref.owner,
    name: ref.name,
    version: id,
    openapiSchema: version.openapi_schema,
    isOfficial: answer.is_official === true,
  };
}

/** What a lookup is about, for its error messages. */
interface Subject {
  label: string;
  notFound: string;
}

async function getJson(path: string, subject: Subject, options: FetchOptions): Promise<Record<string, unknown>> {
  const url = `${options.baseUrl.replace(/\/+$/, "")}${path}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, {
      headers: { Authorization: `Bearer ${options.token}`, Accept: "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new ModelLookupError(unreachable(options.baseUrl, error, timeoutMs));
  }
  const text = await response.text();
  const body = parseJson(text);
  if (!response.ok) throw new ModelLookupError(statusMessage(response.status, body, subject));
  if (!isObject(body))
    throw new ModelLookupError(
      `Replicate's answer to GET ${path} is not a JSON object: is REPLICATE_API_BASE_URL (${options.baseUrl}) Replicate's API?`,
    );
  return body;
}

function statusMessage(status: number, body: unknown, subject: Subject): string {
  const model = subject.label;
  const said = isObject(body) && typeof body.detail === "string" ? ` Replicate said: "${body.detail}"` : "";
  switch (status) {
    case 401:
      return `Replicate refused the token (401).${said} Check REPLICATE_API_TOKEN (https://replicate.com/account/api-tokens).`;
    case 403:
      return `Your token may not read ${model} (403).${said} The model is private to another account, or the token lacks access to it.`;
    case 404:
      return subject.notFound;
    case 429:
      return `Replicate throttled the request (429).${said} Try again in a minute.`;
    default:
      return `Replicate answered ${status} for ${model}.${said || " Try again later."}`;
  }
}

function unreachable(baseUrl: string, error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `${baseUrl} did not answer within ${timeoutMs / 1000} s. Check your network connection and REPLICATE_API_BASE_URL.`;
  }
  // fetch says only "fetch failed"; its cause names the reason (ECONNREFUSED, ENOTFOUND, bad port...).
  const cause = error instanceof Error && isObject(error.cause) ? error.cause : undefined;
  const reason = [cause?.code, cause?.message, error instanceof Error ? error.message : String(error)].find(
    (text): text is string => typeof text === "string" && text !== "",
  );
  return `Could not reach ${baseUrl} (${reason}). Check your network connection and REPLICATE_API_BASE_URL.`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
