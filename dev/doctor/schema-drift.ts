/**
 * What `npm run doctor` reads of schema.ts through its JSON Schema (the form's view of it, zod's
 * input side): whether its fields still fit a model version's inputs, and the example body `--run`
 * sends.
 */
import { z } from "zod";
import { isObject, namedSchemas, resolveSchema, type JsonSchema } from "@/dev/fit-model/json-schema";

/** The part of schema.ts the doctor uses (the route's own two exports). */
export interface SchemaModule {
  requestBodySchema: z.ZodType;
  toModelInput: (body: never) => Record<string, unknown>;
}

function bodySchema(module: SchemaModule): JsonSchema {
  return z.toJSONSchema(module.requestBodySchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
}

/** The non-null branch of `anyOf [X, null]` (zod's nullable), else the schema itself. */
function nonNull(schema: JsonSchema): JsonSchema {
  const branches = Array.isArray(schema.anyOf) ? schema.anyOf.filter((branch) => branch.type !== "null") : [];
  return branches.length === 1 ? { ...schema, ...branches[0] } : schema;
}

type Kind = "file" | "enum" | "string" | "integer" | "number" | "boolean" | "array" | "object" | "any";

function kindOf(schema: JsonSchema): Kind {
  if (schema.format === "uri") return "file";
  if (Array.isArray(schema.enum)) return "enum";
  const type = Array.isArray(schema.type) ? schema.type.find((each) => each !== "null") : schema.type;
  return (["string", "integer", "number", "boolean", "array", "object"] as const).find((each) => each === type) ?? "any";
}

/**
 * Each way schema.ts's fields no longer fit the model's Input, one phrase per field: a field the
 * model dropped, a type that changed, enum values it no longer takes, an input it now requires.
 * Empty when every field still exists with a compatible type.
 */
export function compareInputs(module: SchemaModule, openapiSchema: unknown): string[] {
  const schemas = namedSchemas(openapiSchema);
  const input = schemas.Input;
  const theirs = isObject(input) && isObject(input.properties) ? input.properties : {};
  const required = new Set(Array.isArray(input?.required) ? input.required : []);
  const ours = bodySchema(module).properties ?? {};
  const drift: string[] = [];
  for (const [name, raw] of Object.entries(ours)) {
    const model = theirs[name];
    if (!model) {
      drift.push(`${name} is no longer an input`);
      continue;
    }
    const field = nonNull(raw);
    const resolved = resolveSchema(model, schemas);
    const [was, now] = [kindOf(field), kindOf(resolved)];
    if (was === "any" || now === "any" || was === now || (was === "integer" && now === "number")) {
      if (was === "enum" && now === "enum") {
        const dropped = (field.enum ?? []).filter((value) => !(resolved.enum ?? []).includes(value));
        if (dropped.length > 0) drift.push(`${name} no longer takes ${dropped.map((value) => JSON.stringify(value)).join(", ")}`);
      }
      continue;
    }
    if (was === "string" && now === "enum") {
      drift.push(`${name} now takes only ${(resolved.enum ?? []).map((value) => JSON.stringify(value)).join(", ")}`);
      continue;
    }
    drift.push(`${name} was ${describeKind(was)}, is now ${describeKind(now)}`);
  }
  for (const name of required) {
    const model = theirs[name];
    const hasDefault = model && resolveSchema(model, schemas).default !== undefined;
    if (!(name in ours) && !hasDefault) drift.push(`${name} is a new required input`);
  }
  return drift;
}

function describeKind(kind: Kind): string {
  return kind === "enum" ? "a choice" : kind === "file" ? "a file" : kind === "integer" ? "an integer" : `a ${kind}`;
}

/**
 * The body `--run` sends: each required field's first example (else its default, its first choice,
 * or a plain value of its type); optional fields are left to the model. A required file with no
 * example cannot be made up: it is named in `missing`.
 */
export function exampleInput(module: SchemaModule): { body: Record<string, unknown> } | { missing: string[] } {
  const schema = bodySchema(module);
  const body: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const name of schema.required ?? []) {
    const field = nonNull(schema.properties?.[name] ?? {});
    const value = exampleOf(field);
    if (value === undefined) missing.push(name);
    else body[name] = value;
  }
  return missing.length > 0 ? { missing } : { body };
}

function exampleOf(field: JsonSchema): unknown {
  if (Array.isArray(field.examples) && field.examples.length > 0) return field.examples[0];
  if (field.default !== undefined) return field.default;
  if (Array.isArray(field.enum) && field.enum.length > 0) return field.enum[0];
  switch (kindOf(field)) {
    case "string":
      return "a test of the setup";
    case "integer":
    case "number":
      return typeof field.minimum === "number" ? field.minimum : 1;
    case "boolean":
      return false;
    default:
      return undefined;
  }
}
