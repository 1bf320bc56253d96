/**
 * The page's form, read from the route's own JSON Schema (`GET /api/ai/replicate/schema`): one
 * field descriptor per property, in the model's order (request-body.ts builds the body back from
 * them). The keys it reads are listed in app/api/ai/replicate/schema.ts.
 */

import type { JsonSchema, ModelSchemas } from "../shared/model-schemas";

export type { JsonSchema, ModelSchemas };

export const SCHEMA_PATH = "/api/ai/replicate/schema";

type Common = {
  name: string;
  label: string;
  description?: string;
  required: boolean;
};

export type FieldDescriptor = Common &
  (
    | { kind: "text" | "textarea"; placeholder?: string; default?: string; secret?: boolean }
    | { kind: "number"; integer: boolean; min?: number; max?: number; slider: boolean; step: number; default?: number }
    | { kind: "select"; options: (string | number)[]; default?: string | number; presetsOnly: boolean }
    | { kind: "boolean"; default?: boolean }
    | { kind: "file"; accept: string }
    | { kind: "json"; default?: unknown }
  );

/**
 * What the form holds, by field name: text as typed (numbers and selects too), a toggle's boolean,
 * a file's data URL. An absent name is a field left as it was: not sent.
 */
export type FormValues = Record<string, string | boolean | null>;

/** Integer ranges up to this wide get a slider; bounded numbers always do. */
const SLIDER_MAX_SPAN = 100;
/** Strings at most this long (by `maxLength`) are one line; longer or unbounded prompts a textarea. */
const ONE_LINE_MAX_LENGTH = 200;

export function toFieldDescriptors(schema: JsonSchema): FieldDescriptor[] {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  const ordered = properties
    .map(([name, property], index) => ({ name, property, index }))
    .sort((a, b) => orderOf(a.property, a.index) - orderOf(b.property, b.index));
  return ordered.map(({ name, property }) => describeField(name, flatten(property), required.has(name)));
}

function orderOf(property: JsonSchema, index: number): number {
  // Fields with an x-order come first, by it; the others keep the properties' order after them.
  return typeof property["x-order"] === "number" ? property["x-order"] : Number.MAX_SAFE_INTEGER / 2 + index;
}

/** `anyOf: [X, {type: "null"}]` (a nullable field) is read as X, its own keys kept. */
function flatten(property: JsonSchema): JsonSchema {
  const variants = property.anyOf?.filter((variant) => variant.type !== "null") ?? [];
  if (variants.length !== 1) return property;
  const { anyOf: _anyOf, ...own } = property;
  return { ...variants[0], ...own };
}

function describeField(name: string, property: JsonSchema, required: boolean): FieldDescriptor {
  const common: Common = { name, label: property.title ?? labelOf(name), required };
  if (property.description) common.description = property.description;
  const type = Array.isArray(property.type) ? property.type.find((type) => type !== "null") : property.type;
  const fallback = property.default;

  if (property.enum && property.enum.length > 0) {
    const options = property.enum.filter(
      (option): option is string | number => typeof option === "string" || typeof option === "number",
    );
    return { ...common, kind: "select", options, presetsOnly: false, ...withDefault(fallback, isOption(options)) };
  }
  if (typeof property["x-file"] === "string" || (type === "string" && property.format === "uri")) {
    return { ...common, kind: "file", accept: property["x-file"] ?? "*/*" };
  }
  if (type === "integer" || type === "number") {
    const integer = type === "integer";
    const min = property.minimum ?? property.exclusiveMinimum;
    const max = property.maximum ?? property.exclusiveMaximum;
    const bounded = min !== undefined && max !== undefined;
    const slider = bounded && (integer ? max - min <= SLIDER_MAX_SPAN : true);
    const step = integer ? 1 : bounded ? niceStep((max - min) / 100) : 0.01;
    return { ...common, kind: "number", integer, min, max, slider, step, ...withDefault(fallback, isNumber) };
  }
  if (type === "boolean") return { ...common, kind: "boolean", ...withDefault(fallback, isBoolean) };
  if (type === "string") {
    // A secret (Cog's Secret: `format: "password"`, `writeOnly`) is typed unseen and never prefilled.
    if (property.format === "password" || property.writeOnly === true) return { ...common, kind: "text", secret: true };
    const presets = property["x-presets"];
    if (presets && presets.length > 0)
      return { ...common, kind: "select", options: presets, presetsOnly: true, ...withDefault(fallback, isString) };
    const long = property.maxLength === undefined ? /prompt/i.test(name) : property.maxLength > ONE_LINE_MAX_LENGTH;
    const example = property.examples?.find(isString);
    return {
      ...common,
      kind: long ? "textarea" : "text",
      ...(example !== undefined ? { placeholder: example } : {}),
      ...withDefault(fallback, isString),
    };
  }
  // Arrays, objects and untyped fields: typed as JSON.
  return { ...common, kind: "json", ...(fallback !== undefined ? { default: fallback } : {}) };
}

function withDefault<T>(value: unknown, accept: (value: unknown) => value is T): { default?: T } {
  return accept(value) ? { default: value } : {};
}

const isString = (value: unknown): value is string => typeof value === "string";
const isNumber = (value: unknown): value is number => typeof value === "number";
const isBoolean = (value: unknown): value is boolean => typeof value === "boolean";
const isOption =
  (options: (string | number)[]) =>
  (value: unknown): value is string | number =>
    options.includes(value as string | number);

/** 1, 2 or 5 times a power of ten, the nearest at or below `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0)) return 0.01;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [5, 2, 1].map((factor) => factor * power).find((candidate) => candidate <= raw) ?? power;
  return Number(step.toPrecision(1));
}

/** `num_outputs` -> "Num outputs", `guidanceScale` -> "Guidance scale". */
export function labelOf(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The text a field shows before it is touched: its default, for selects and sliders its value. */
export function shownValue(field: FieldDescriptor, values: FormValues): string {
  const value = values[field.name];
  if (typeof value === "string") return value;
  if (field.kind === "select" || (field.kind === "number" && field.slider)) {
    if (field.default !== undefined) return String(field.default);
    if (field.kind === "number" && field.min !== undefined) return String(field.min);
  }
  return "";
}

/** Field errors from the route are placed by these names. */
export function fieldNames(fields: FieldDescriptor[]): string[] {
  return fields.map((field) => field.name);
}

/** Reads the answer of `GET /api/ai/replicate/schema`; anything else is an error. */
export function parseModelSchemas(body: unknown): ModelSchemas {
  const answer = body as Partial<ModelSchemas> | null;
  if (typeof answer?.input !== "object" || answer.input === null || typeof answer.input.properties !== "object") {
    throw new Error("The schema route answered no input schema");
  }
  const simulator =
    answer.simulator && Array.isArray(answer.simulator.directives) ? { directives: answer.simulator.directives } : null;
  return { input: answer.input, output: typeof answer.output === "object" ? answer.output : null, simulator };
}

export type SchemasAnswer =
  | { kind: "ready"; schemas: ModelSchemas }
  /** 401: `keyRefused` when a key was sent (it is wrong), else none was. */
  | { kind: "unauthorized"; keyRefused: boolean }
  | { kind: "failed"; message: string };

/** One GET of the schema route, with the page's access key headers; errors of the network reject. */
export async function fetchModelSchemas(
  headers: Record<string, string>,
  fetchImpl: typeof fetch = fetch,
): Promise<SchemasAnswer> {
  const response = await fetchImpl(SCHEMA_PATH, { headers: { Accept: "application/json", ...headers } });
  if (response.status === 401) return { kind: "unauthorized", keyRefused: "Authorization" in headers };
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = (body as { detail?: unknown } | null)?.detail;
    return {
      kind: "failed",
      message: typeof detail === "string" && detail ? detail : `The schema route answered ${response.status}`,
    };
  }
  try {
    return { kind: "ready", schemas: parseModelSchemas(body) };
  } catch (error) {
    return { kind: "failed", message: (error as Error).message };
  }
}
