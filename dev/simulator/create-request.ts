import { SIMULATED_VERSION_ID } from "./ids";
import { catalogueVersion, findVersionById, type CatalogueVersion, type JsonObject } from "./models";
import { INVALID_VERSION, MODEL_NOT_FOUND, validationProblem } from "./responses";
import { ALL_WEBHOOK_EVENTS, type InvalidField, type ProblemBody, type WebhookEvent } from "./types";

/**
 * Validation of a create body against the schemas Replicate publishes (additionalProperties:
 * false), and of its `input` against the model's own Input schema: a catalogue model's
 * (models/index.ts: required, type, enum, minimum/maximum, `format: "uri"`), for any other model
 * the seed's (a string prompt, an integer seed). Which model a create runs: the models endpoint's
 * `{owner}/{name}` (official ones), a version's `owner/name:<id>`, or a bare version id of the
 * catalogue; any other bare id runs "simulated/model", the seed's kind of image model.
 */

/** Which create endpoint was called. */
export type CreateTarget =
  | { via: "version" }
  | { via: "model"; owner: string; name: string }
  | { via: "deployment"; owner: string; name: string };

export interface CreateSpec {
  input: Record<string, unknown>;
  prompt: string;
  model: string;
  version: string;
  deployment?: string;
  webhook?: { url: string; events: ReadonlySet<WebhookEvent> };
  /** The catalogue model and version it runs, when it is one of the catalogue's. */
  catalogue?: CatalogueVersion;
}

export { SIMULATED_VERSION_ID };

const HEX64 = /^[0-9a-f]{64}$/;
const MODEL_NAME = /^[a-z0-9][\w.-]*\/[a-z0-9][\w.-]*$/i;
const VERSION_BODY_KEYS = new Set(["version", "input", "webhook", "webhook_events_filter", "stream"]);
const MODEL_BODY_KEYS = new Set(["input", "webhook", "webhook_events_filter", "stream"]);

/** Which models run without a version (official ones), and what the models endpoint answers for others. */
export interface ModelPolicy {
  isOfficial(model: string): boolean;
  unofficialStatus: 404 | 422;
}

const EVERY_MODEL_OFFICIAL: ModelPolicy = { isOfficial: () => true, unofficialStatus: 404 };

export function parseCreateBody(
  target: CreateTarget,
  body: unknown,
  models: ModelPolicy = EVERY_MODEL_OFFICIAL,
): { spec: CreateSpec } | { problem: ProblemBody } {
  // Only official models have a models endpoint: for any other the real API answers before reading the body.
  if (target.via === "model" && !models.isOfficial(`${target.owner}/${target.name}`)) {
    return { problem: models.unofficialStatus === 404 ? MODEL_NOT_FOUND : INVALID_VERSION };
  }
  if (!isPlainObject(body)) return { problem: validationProblem([typeError("(root)", "object", body)]) };

  const bodyErrors = bodyFieldErrors(target, body);
  if (bodyErrors.length > 0) return { problem: validationProblem(bodyErrors) };

  const input = body.input as Record<string, unknown>;
  const identity = modelIdentity(target, body.version);
  const catalogue = identity ? catalogueVersion(identity.model, identity.version) : undefined;
  const known = catalogue === "unknown" ? undefined : catalogue;
  const inputErrors = known ? inputSchemaErrors(input, known.version.openapi_schema) : inputFieldErrors(input);
  if (inputErrors.length > 0) return { problem: validationProblem(inputErrors) };

  if (!identity || catalogue === "unknown") return { problem: INVALID_VERSION };
  // A bare `owner/name` version is for official models only.
  if (target.via === "version" && identity.version === "hidden" && !models.isOfficial(identity.model)) {
    return { problem: INVALID_VERSION };
  }

  return {
    spec: {
      input,
      prompt: typeof input.prompt === "string" ? input.prompt : "",
      ...identity,
      catalogue: known,
      webhook: typeof body.webhook === "string" ? { url: body.webhook, events: webhookEvents(body) } : undefined,
    },
  };
}

function bodyFieldErrors(target: CreateTarget, body: Record<string, unknown>): InvalidField[] {
  const allowed = target.via === "version" ? VERSION_BODY_KEYS : MODEL_BODY_KEYS;
  const errors: InvalidField[] = Object.keys(body)
    .filter((key) => !allowed.has(key))
    .map((key) => ({
      type: "additional_property_not_allowed",
      field: "(root)",
      description: `Additional property ${key} is not allowed`,
    }));

  if (target.via === "version") {
    if (!("version" in body)) errors.push(required("(root)", "version"));
    else if (typeof body.version !== "string") errors.push(typeError("version", "string", body.version));
  }
  if (!("input" in body)) errors.push(required("(root)", "input"));
  else if (!isPlainObject(body.input)) errors.push(typeError("input", "object", body.input));

  if ("webhook" in body && !isHttpUrl(body.webhook)) {
    errors.push({ type: "format", field: "webhook", description: "Does not match format 'uri'" });
  }
  if ("webhook_events_filter" in body) errors.push(...eventsFilterErrors(body.webhook_events_filter));
  if ("stream" in body && typeof body.stream !== "boolean") errors.push(typeError("stream", "boolean", body.stream));
  return errors;
}

function eventsFilterErrors(filter: unknown): InvalidField[] {
  if (!Array.isArray(filter)) return [typeError("webhook_events_filter", "array", filter)];
  const allowed = ALL_WEBHOOK_EVENTS.map((e) => `"${e}"`).join(", ");
  return filter.flatMap((event, i) =>
    (ALL_WEBHOOK_EVENTS as readonly unknown[]).includes(event)
      ? []
      : [
          {
            type: "enum",
            field: `webhook_events_filter.${i}`,
            description: `webhook_events_filter.${i} must be one of the following: ${allowed}`,
          },
        ],
  );
}

/** The simulated model's own input schema: a string prompt, optional integer seed. */
function inputFieldErrors(input: Record<string, unknown>): InvalidField[] {
  const errors: InvalidField[] = [];
  if (!("prompt" in input)) errors.push(required("input", "prompt"));
  else if (typeof input.prompt !== "string") errors.push(typeError("input.prompt", "string", input.prompt));
  if ("seed" in input && input.seed !== null && !Number.isInteger(input.seed)) {
    errors.push(typeError("input.seed", "integer", input.seed));
  }
  return errors;
}

/**
 * The input against a catalogue version's Input schema, in Replicate's words. Keys the schema does
 * not name are let through (Cog ignores them); null stands for "not given" in an optional field.
 */
function inputSchemaErrors(input: Record<string, unknown>, openapiSchema: JsonObject): InvalidField[] {
  const schemas = ((openapiSchema.components as JsonObject | undefined)?.schemas ?? {}) as Record<string, JsonObject>;
  const inputSchema = schemas.Input ?? {};
  const properties = (inputSchema.properties ?? {}) as Record<string, JsonObject>;
  const requiredNames = new Set((inputSchema.required ?? []) as string[]);
  const errors: InvalidField[] = [];
  for (const [name, raw] of Object.entries(properties)) {
    const value = input[name];
    if (value === undefined || (value === null && !requiredNames.has(name))) {
      if (requiredNames.has(name)) errors.push(required("input", name));
      continue;
    }
    errors.push(...valueErrors(`input.${name}`, withReference(raw, schemas), value));
  }
  return errors;
}

/** Cog's enums: `allOf: [{ $ref }]` to a named schema, the property's own keys winning. */
function withReference(property: JsonObject, schemas: Record<string, JsonObject>): JsonObject {
  const allOf = property.allOf as Array<{ $ref?: string }> | undefined;
  const ref = allOf?.[0]?.$ref ?? (property.$ref as string | undefined);
  const target = ref ? schemas[ref.replace("#/components/schemas/", "")] : undefined;
  return target ? { ...target, ...property } : property;
}

function valueErrors(field: string, schema: JsonObject, value: unknown): InvalidField[] {
  const type = schema.type as string | undefined;
  const matches =
    type === undefined ||
    (type === "integer" ? Number.isInteger(value) : type === "array" ? Array.isArray(value) : jsonTypeOf(value) === type) ||
    (type === "number" && typeof value === "number");
  if (!matches) return [typeError(field, type!, value)];
  const choices = schema.enum as unknown[] | undefined;
  if (choices && !choices.includes(value)) {
    const allowed = choices.map((choice) => JSON.stringify(choice)).join(", ");
    return [{ type: "enum", field, description: `${field} must be one of the following: ${allowed}` }];
  }
  const errors: InvalidField[] = [];
  if (typeof value === "number" && typeof schema.minimum === "number" && value < schema.minimum) {
    errors.push({ type: "number_gte", field, description: `Must be greater than or equal to ${schema.minimum}` });
  }
  if (typeof value === "number" && typeof schema.maximum === "number" && value > schema.maximum) {
    errors.push({ type: "number_lte", field, description: `Must be less than or equal to ${schema.maximum}` });
  }
  if (schema.format === "uri" && typeof value === "string" && !isHttpUrl(value) && !/^data:[^,]*,/.test(value)) {
    errors.push({ type: "format", field, description: "Does not match format 'uri'" });
  }
  return errors;
}

function modelIdentity(target: CreateTarget, version: unknown): Pick<CreateSpec, "model" | "version" | "deployment"> | null {
  if (target.via === "model") return { model: `${target.owner}/${target.name}`, version: "hidden" };
  if (target.via === "deployment") {
    return {
      model: "simulated/deployed-model",
      version: SIMULATED_VERSION_ID,
      deployment: `${target.owner}/${target.name}`,
    };
  }
  const text = String(version);
  if (HEX64.test(text)) {
    const found = findVersionById(text)?.model;
    return { model: found ? `${found.owner}/${found.name}` : "simulated/model", version: text };
  }
  const [name, id] = text.split(":");
  if (id === undefined && MODEL_NAME.test(name)) return { model: name, version: "hidden" };
  if (id !== undefined && MODEL_NAME.test(name) && HEX64.test(id)) return { model: name, version: id };
  return null;
}

function webhookEvents(body: Record<string, unknown>): ReadonlySet<WebhookEvent> {
  const filter = body.webhook_events_filter as WebhookEvent[] | undefined;
  return new Set(filter ?? ALL_WEBHOOK_EVENTS);
}

function required(field: string, property: string): InvalidField {
  return { type: "required", field, description: `${property} is required` };
}

function typeError(field: string, expected: string, value: unknown): InvalidField {
  return {
    type: "invalid_type",
    field,
    description: `Invalid type. Expected: ${expected}, given: ${jsonTypeOf(value)}`,
  };
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}
