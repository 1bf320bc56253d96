/**
 * The part of a Cog model's OpenAPI document that `npm run model` reads, and how its references
 * resolve. Cog writes enums as `allOf: [{ $ref: "#/components/schemas/<name>" }]` (or a bare
 * `$ref`), and newer Cog (pydantic 2) writes `Optional[X]` as `anyOf: [X, { type: "null" }]`; both
 * are folded here into one plain schema so the generator sees `{ type, enum, ... }`.
 */

export interface OpenApiSchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  $ref?: string;
  allOf?: OpenApiSchema[];
  anyOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  items?: OpenApiSchema | OpenApiSchema[];
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  additionalProperties?: boolean | OpenApiSchema;
  patternProperties?: Record<string, OpenApiSchema>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  nullable?: boolean;
  title?: string;
  description?: string;
  "x-order"?: number;
  "x-cog-array-type"?: string;
  "x-cog-array-display"?: string;
  [keyword: string]: unknown;
}

/** A schema the generator cannot turn into a file (nothing is written); the message says why. */
export class UnexpressibleSchemaError extends Error {
  override name = "UnexpressibleSchemaError";
}

export type NamedSchemas = Record<string, OpenApiSchema | undefined>;

export function namedSchemas(openapiSchema: unknown): NamedSchemas {
  const components = isObject(openapiSchema) ? openapiSchema.components : undefined;
  const schemas = isObject(components) ? components.schemas : undefined;
  return isObject(schemas) ? (schemas as NamedSchemas) : {};
}

const REF_PREFIX = "#/components/schemas/";

/**
 * The schema with its `$ref` / single `allOf` replaced by what they point at (the field's own
 * keywords, such as its description, default and x-order, win), and `anyOf [X, null]` / `type
 * [X, "null"]` turned into X with `nullable: true`. Anything else is left for the caller to judge.
 */
export function resolveSchema(
  schema: OpenApiSchema,
  schemas: NamedSchemas,
  seen: ReadonlySet<string> = new Set(),
): OpenApiSchema {
  if (typeof schema.$ref === "string") {
    const { $ref, ...own } = schema;
    return { ...resolveSchema(lookUp($ref, schemas, seen), schemas, new Set([...seen, $ref])), ...own };
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) {
    const { allOf, ...own } = schema;
    return { ...resolveSchema(allOf[0], schemas, seen), ...own };
  }
  if (Array.isArray(schema.anyOf) && schema.anyOf.length === 2) {
    const others = schema.anyOf.filter((branch) => branch.type !== "null");
    if (others.length === 1) {
      const { anyOf: _anyOf, ...own } = schema;
      return { ...resolveSchema(others[0], schemas, seen), ...own, nullable: true };
    }
  }
  if (Array.isArray(schema.type) && schema.type.length === 2 && schema.type.includes("null")) {
    return { ...schema, type: schema.type.find((type) => type !== "null"), nullable: true };
  }
  return schema;
}

/**
 * A whole schema (the model's Output) with every `$ref` and single-schema `allOf` replaced by what
 * it points at, all the way down; nothing else is changed (no `nullable` folding: the result is
 * still the model's JSON Schema).
 */
export function resolveReferences(value: unknown, schemas: NamedSchemas, seen: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveReferences(item, schemas, seen));
  if (!isObject(value)) return value;
  if (typeof value.$ref === "string") {
    const { $ref, ...own } = value;
    return resolveReferences({ ...lookUp($ref, schemas, seen), ...own }, schemas, new Set([...seen, $ref]));
  }
  if (Array.isArray(value.allOf) && value.allOf.length === 1) {
    const { allOf, ...own } = value;
    return resolveReferences({ ...(allOf[0] as object), ...own }, schemas, seen);
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveReferences(item, schemas, seen)]));
}

function lookUp(ref: string, schemas: NamedSchemas, seen: ReadonlySet<string>): OpenApiSchema {
  if (seen.has(ref)) throw new UnexpressibleSchemaError(`The schema refers to itself through ${ref}.`);
  const target = ref.startsWith(REF_PREFIX) ? schemas[ref.slice(REF_PREFIX.length)] : undefined;
  if (!isObject(target)) {
    throw new UnexpressibleSchemaError(`The schema refers to ${ref}, which is not in its components.schemas.`);
  }
  return target;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
