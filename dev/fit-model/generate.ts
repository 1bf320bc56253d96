/**
 * Writes app/api/ai/replicate/schema.ts from a model version's OpenAPI schema, as a person would:
 * one zod field per input, in the order Replicate's website shows them (`x-order`, then name), and
 * the model's output schema. Pure: text in, text out; fetching and writing live in fetch-schema.ts
 * and cli.ts.
 *
 * What it expresses: string, integer, number, boolean; enums (z.enum for strings, z.literal for
 * numbers), also through `allOf`/`$ref` to a named schema; minimum/maximum (exclusive too),
 * multipleOf, minLength/maxLength, pattern; arrays of those (minItems/maxItems); `format: "uri"`
 * files (an http(s) URL, or for image fields raw base64 / a data:image URL through
 * toImageDataUrl, for other files a base64 data URL); `nullable` / `anyOf [X, null]`; required
 * fields. For the page's form (app/api/ai/replicate/schema/route.ts turns the zod schema back into
 * JSON Schema), each field's `.meta({...})` carries its `title` (left out when it is Cog's own
 * title made from the name: the form makes its label from the name), `description`, `default`
 * (the field is optional and zod has no `.default()`: the route sends only what the user set and
 * Replicate applies the rest), `examples`, `x-order`, and for files `format: "uri"` with
 * `x-file` set to the MIME types Cog lists in `x-cog-accept`, else to "image/*" | "audio/*" |
 * "video/*" when the field's name (else its description) says which; a file that says neither gets
 * `format: "uri"` only, and the form accepts any file. A secret input (`x-cog-secret`, `format:
 * "password"` or `writeOnly`) keeps `format: "password"` and `writeOnly: true` in its meta, and no
 * default or examples: the form draws a password field and leaves it out of the copied curl command.
 * `Output`, its `$ref`s resolved, becomes `export const outputSchema = {...} as const`;
 * `generatedFrom` records the model, version (and deployment) the file was written from.
 *
 * What it does not express, and what it does instead:
 * - An optional field it cannot check (a nested object, a dict / patternProperties /
 *   additionalProperties, oneOf / anyOf other than "X or null", allOf of several schemas, `not`,
 *   `const`, if/then/else, tuple items, mixed-type enums, no `type` at all): `z.unknown()` with a
 *   comment naming what was left out; the value is sent on as given and Replicate validates it
 *   (the form offers a JSON box). The CLI lists them.
 * - The same in a REQUIRED field: refused (nothing written), since every body would have to carry
 *   a value the route cannot check; write that field by hand.
 * - A `$ref` that does not resolve, or an Input that is not an object with properties: refused.
 *   An `Output` whose `$ref`s do not resolve: no `outputSchema` (a comment says why); the page
 *   then judges the output by what arrives.
 * - Ignored keywords: `format` other than "uri" and "password", `uniqueItems`, `readOnly`,
 *   `deprecated`, other `x-cog-*` on inputs; file meta on the items of an array of files (the form
 *   types such an array as JSON).
 */
import {
  isObject,
  namedSchemas,
  resolveReferences,
  resolveSchema,
  UnexpressibleSchemaError,
  type OpenApiSchema,
  type NamedSchemas,
} from "./json-schema";

export interface GenerateOptions {
  /** `owner/name` */
  model: string;
  /** The 64-hex version id the schema belongs to. */
  version: string;
  /** The version's `openapi_schema`. */
  openapiSchema: unknown;
  /** `owner/name` of the deployment whose current version this is, when fitted through one. */
  deployment?: string;
}

export interface GeneratedSchema {
  source: string;
  /** Input names in the file's order. */
  fields: string[];
  /** Fields written as `z.unknown()`, each with the reason: worth a look by hand. */
  unchecked: Array<{ field: string; reason: string }>;
}

const WIDTH = 120;
const COMMENT_WIDTH = 100;

type Helper = "imageFile" | "file";

interface Call {
  method: string;
  args: string[];
  /** An object literal as the one argument (`.meta({...})`), key and value already rendered. */
  entries?: Array<[string, string]>;
}

interface Expr {
  head: string;
  calls: Call[];
}

interface FieldPlan {
  name: string;
  hasDefault: boolean;
  comments: string[];
  expr: Expr;
}

type Media = "image" | "audio" | "video";

class Unchecked {
  constructor(readonly reason: string) {}
}

export function generateSchemaFile(options: GenerateOptions): GeneratedSchema {
  const schemas = namedSchemas(options.openapiSchema);
  const input = schemas.Input;
  if (!isObject(input) || !isObject(input.properties)) {
    throw new UnexpressibleSchemaError(
      "The version's openapi_schema has no components.schemas.Input object with properties: nothing to generate.",
    );
  }
  const required = new Set(Array.isArray(input.required) ? input.required : []);
  const helpers = new Set<Helper>();
  const unchecked: GeneratedSchema["unchecked"] = [];
  const refused: string[] = [];
  const fileFields: string[] = [];

  const plans: FieldPlan[] = [];
  for (const [name, raw] of orderedProperties(input.properties)) {
    if (name === "__proto__") {
      refused.push(`${name}: a field named __proto__ cannot be an object key here`);
      continue;
    }
    const field = resolveSchema(raw, schemas);
    const isRequired = required.has(name);
    const hasDefault = field.default !== undefined && field.default !== null;
    const fieldHelpers = new Set<Helper>();
    const built = fieldExpr(field, schemas, fieldHelpers, isRequired && !hasDefault, name);
    if (built instanceof Unchecked) {
      if (isRequired && !hasDefault) {
        refused.push(`${name}: required, but ${built.reason}`);
        continue;
      }
      unchecked.push({ field: name, reason: built.reason });
      // optional(): z.unknown() alone would be a required property in the form's JSON Schema.
      const expr: Expr = {
        head: "z",
        calls: [
          { method: "unknown", args: [] },
          { method: "optional", args: [] },
        ],
      };
      withMeta(expr, metaEntries(name, raw, field, hasDefault));
      const comment = `Not checked here (${built.reason}): sent on as given, Replicate validates it.`;
      plans.push({ name, hasDefault, comments: [comment], expr });
      continue;
    }
    if (fieldHelpers.size > 0) fileFields.push(name);
    for (const helper of fieldHelpers) helpers.add(helper);
    if (field.nullable) built.calls.push({ method: "nullable", args: [] });
    if (!isRequired || hasDefault) built.calls.push({ method: "optional", args: [] });
    withMeta(built, metaEntries(name, raw, field, hasDefault));
    plans.push({ name, hasDefault, comments: [], expr: built });
  }
  if (refused.length > 0) {
    throw new UnexpressibleSchemaError(
      `${options.model}:${options.version} has inputs this generator cannot check:\n${refused.map((line) => `  - ${line}`).join("\n")}\n` +
        "Write those fields into schema.ts by hand.",
    );
  }

  const source = [
    header(),
    ...imports(helpers),
    "",
    ...helperSource(helpers),
    ...generatedFromSource(options),
    ...bodyDoc(plans.some((plan) => plan.hasDefault)),
    "export const requestBodySchema = z.strictObject({",
    ...plans.flatMap(renderField),
    "});",
    "",
    "export type RequestBody = z.infer<typeof requestBodySchema>;",
    "",
    ...outputSection(schemas),
    "/**",
    ...wrapComment(
      `The model's \`input\`: the body as zod parsed it (absent optional fields are already left out${filesParsed(fileFields)}). ` +
        "Rename or add keys here when your model's names differ.",
      " * ",
    ),
    " */",
    "export function toModelInput(body: RequestBody): Record<string, unknown> {",
    "  return { ...body };",
    "}",
    "",
  ].join("\n");
  return { source, fields: plans.map((plan) => plan.name), unchecked };
}

function orderedProperties(properties: Record<string, OpenApiSchema>): Array<[string, OpenApiSchema]> {
  const order = (schema: OpenApiSchema) => (typeof schema["x-order"] === "number" ? schema["x-order"] : Number.POSITIVE_INFINITY);
  return Object.entries(properties).sort(
    ([nameA, a], [nameB, b]) => order(a) - order(b) || (nameA < nameB ? -1 : nameA > nameB ? 1 : 0),
  );
}

// ---- one field ---------------------------------------------------------------------------------

function fieldExpr(
  field: OpenApiSchema,
  schemas: NamedSchemas,
  helpers: Set<Helper>,
  mustNotBeBlank: boolean,
  name = "",
): Expr | Unchecked {
  const notExpressed = unexpressedKeyword(field);
  if (notExpressed) return new Unchecked(notExpressed);
  if (field.enum !== undefined) return enumExpr(field.enum);

  switch (field.type) {
    case "string":
      return stringExpr(field, helpers, mustNotBeBlank, name);
    case "integer":
    case "number":
      return numberExpr(field);
    case "boolean":
      return { head: "z", calls: [{ method: "boolean", args: ['{ error: "must be true or false" }'] }] };
    case "array":
      return arrayExpr(field, schemas, helpers, name);
    case "object":
      return new Unchecked("a nested object");
    case undefined:
      return new Unchecked("no type given");
    default:
      return new Unchecked(`type ${JSON.stringify(field.type)}`);
  }
}

function unexpressedKeyword(field: OpenApiSchema): string | null {
  if (field.oneOf) return "oneOf";
  if (field.anyOf) return "anyOf";
  if (field.allOf) return "allOf of several schemas";
  if (field.not) return "not";
  if (field.const !== undefined) return "const";
  if (field.patternProperties || field.additionalProperties !== undefined)
    return "a dict (additionalProperties / patternProperties)";
  if (field.if) return "if/then/else";
  return null;
}

function enumExpr(values: unknown[]): Expr | Unchecked {
  if (values.length === 0) return new Unchecked("an empty enum");
  const message = `{ error: ${quote(`must be one of ${values.map(String).join(", ")}`)} }`;
  const list = `[${values.map((value) => JSON.stringify(value)).join(", ")}]`;
  if (values.every((value) => typeof value === "string"))
    return { head: "z", calls: [{ method: "enum", args: [list, message] }] };
  if (values.every((value) => typeof value === "number" || typeof value === "boolean")) {
    return { head: "z", calls: [{ method: "literal", args: [list, message] }] };
  }
  return new Unchecked("an enum of mixed or non-scalar values");
}

// What a file input holds, by its name, else by the words of its description.
const MEDIA_BY_NAME: Record<Media, RegExp> = {
  image: /image|img|mask|photo|picture/i,
  audio: /audio|speech|voice|sound|music|song|recording/i,
  video: /video|movie/i,
};
const MEDIA_BY_DESCRIPTION: Record<Media, RegExp> = {
  image: /\b(images?|photos?|pictures?|masks?)\b/i,
  audio: /\b(audio|speech|voice|sound|music|songs?|recordings?)\b/i,
  video: /\b(videos?|movies?)\b/i,
};

/** The one kind of media a file field names (by its name first, then its description), else null. */
function fileMedia(name: string, description: unknown): Media | null {
  const only = (patterns: Record<Media, RegExp>, text: string) => {
    const found = (Object.keys(patterns) as Media[]).filter((media) => patterns[media].test(text));
    return found.length === 1 ? found[0] : found.length > 1 ? "ambiguous" : null;
  };
  const byName = only(MEDIA_BY_NAME, name);
  if (byName !== null) return byName === "ambiguous" ? null : byName;
  const byDescription = typeof description === "string" ? only(MEDIA_BY_DESCRIPTION, description) : null;
  return byDescription === "ambiguous" ? null : byDescription;
}

function stringExpr(field: OpenApiSchema, helpers: Set<Helper>, mustNotBeBlank: boolean, name: string): Expr {
  if (field.format === "uri") {
    // A file: images may come as raw base64 (their type is sniffed); other files need a data URL.
    const accepted = acceptedTypes(field);
    const isImage = accepted ? accepted.every((type) => /^image\//i.test(type)) : fileMedia(name, field.description) === "image";
    const helper: Helper = isImage ? "imageFile" : "file";
    helpers.add(helper);
    return { head: helper, calls: [] };
  }
  const calls: Call[] = [{ method: "string", args: ['{ error: "must be a string" }'] }];
  calls.push(...sizeBounds(field.minLength, field.maxLength, "must be", "character"));
  if (field.pattern !== undefined) {
    try {
      new RegExp(field.pattern);
    } catch {
      throw new UnexpressibleSchemaError(`The pattern ${JSON.stringify(field.pattern)} is not a JavaScript regular expression.`);
    }
    calls.push({
      method: "regex",
      args: [`new RegExp(${quote(field.pattern)})`, quote(`must match ${field.pattern}`)],
    });
  }
  if (mustNotBeBlank) {
    const value = isIdentifier(name) && !RESERVED_WORDS.has(name) ? name : "value";
    calls.push({ method: "refine", args: [`(${value}) => ${value}.trim().length > 0`, '"must not be empty"'] });
  }
  return { head: "z", calls };
}

function numberExpr(field: OpenApiSchema): Expr {
  const calls: Call[] = [{ method: "number", args: ['{ error: "must be a number" }'] }];
  const integer = field.type === "integer";
  if (integer) calls.push({ method: "int", args: ['"must be a whole number"'] });
  const lower = bound(field.minimum, field.exclusiveMinimum);
  const upper = bound(field.maximum, field.exclusiveMaximum);
  if (lower)
    calls.push(
      lower.exclusive
        ? { method: "gt", args: [num(lower.value), quote(`must be more than ${lower.value}`)] }
        : { method: "min", args: [num(lower.value), quote(`must be ${lower.value} or more`)] },
    );
  else if (integer) calls.push({ method: "min", args: ["Number.MIN_SAFE_INTEGER", '"is too small"'] });
  if (upper)
    calls.push(
      upper.exclusive
        ? { method: "lt", args: [num(upper.value), quote(`must be less than ${upper.value}`)] }
        : { method: "max", args: [num(upper.value), quote(`must be ${upper.value} or less`)] },
    );
  else if (integer) calls.push({ method: "max", args: ["Number.MAX_SAFE_INTEGER", '"is too large"'] });
  if (field.multipleOf !== undefined)
    calls.push({
      method: "multipleOf",
      args: [num(field.multipleOf), quote(`must be a multiple of ${field.multipleOf}`)],
    });
  return { head: "z", calls };
}

// JSON Schema draft 4 / OpenAPI 3.0 write `exclusiveMinimum: true` beside `minimum`; later drafts a number.
function bound(
  inclusive: number | undefined,
  exclusive: number | boolean | undefined,
): { value: number; exclusive: boolean } | null {
  if (typeof exclusive === "number") return { value: exclusive, exclusive: true };
  if (inclusive === undefined) return null;
  return { value: inclusive, exclusive: exclusive === true };
}

function arrayExpr(field: OpenApiSchema, schemas: NamedSchemas, helpers: Set<Helper>, name: string): Expr | Unchecked {
  if (Array.isArray(field.items)) return new Unchecked("tuple items");
  const item = isObject(field.items)
    ? fieldExpr(resolveSchema(field.items, schemas), schemas, helpers, false, name)
    : new Unchecked("an array whose items have no schema");
  if (item instanceof Unchecked) return new Unchecked(`an array of ${item.reason}`);
  const calls: Call[] = [{ method: "array", args: [renderInline(item), '{ error: "must be an array" }'] }];
  calls.push(...sizeBounds(field.minItems, field.maxItems, "must hold", "item"));
  return { head: "z", calls };
}

// minLength/maxLength and minItems/maxItems: zod's .min/.max on strings and arrays.
function sizeBounds(min: number | undefined, max: number | undefined, verb: string, noun: string): Call[] {
  const calls: Call[] = [];
  if (min !== undefined) calls.push({ method: "min", args: [String(min), quote(`${verb} at least ${plural(min, noun)}`)] });
  if (max !== undefined) calls.push({ method: "max", args: [String(max), quote(`${verb} at most ${plural(max, noun)}`)] });
  return calls;
}

const GENERIC_ENUM_DESCRIPTION = "An enumeration.";

/**
 * What the form reads of a field, as `.meta({...})` entries (see the module header). The title is
 * the property's own: a referenced enum's title is the enum's name, not the field's.
 */
function metaEntries(name: string, own: OpenApiSchema, field: OpenApiSchema, hasDefault: boolean): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  const title = typeof own.title === "string" ? own.title.trim() : "";
  if (title && title !== cogTitle(name)) entries.push(["title", quote(title)]);
  const description = typeof field.description === "string" ? field.description.trim() : "";
  if (description && description !== GENERIC_ENUM_DESCRIPTION) entries.push(["description", quote(description)]);
  // A secret's default and examples are left out: the form would show them.
  const secret = isSecret(field);
  if (hasDefault && !secret) entries.push(["default", literal(field.default)]);
  if (Array.isArray(field.examples) && field.examples.length > 0 && !secret) entries.push(["examples", literal(field.examples)]);
  if (typeof field["x-order"] === "number") entries.push([quote("x-order"), num(field["x-order"])]);
  if (field.type === "string" && field.format === "uri" && field.enum === undefined) {
    entries.push(["format", quote("uri")]);
    const accepted = acceptedTypes(field);
    const media = fileMedia(name, field.description);
    if (accepted) entries.push([quote("x-file"), quote(accepted.join(","))]);
    else if (media) entries.push([quote("x-file"), quote(`${media}/*`)]);
  }
  if (secret && field.type === "string" && field.enum === undefined) {
    entries.push(["format", quote("password")], ["writeOnly", "true"]);
  }
  return entries;
}

/** The MIME types Cog says a file input takes (`x-cog-accept`, a list or a comma-separated string), else null. */
function acceptedTypes(field: OpenApiSchema): string[] | null {
  const raw = field["x-cog-accept"];
  const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(",") : [];
  const types = list
    .filter((type): type is string => typeof type === "string")
    .map((type) => type.trim())
    .filter(Boolean);
  return types.length > 0 ? types : null;
}

/** A secret input, as Cog marks one (`Secret`): a password field on the page, never echoed. */
export function isSecret(field: OpenApiSchema): boolean {
  return field["x-cog-secret"] === true || field.format === "password" || field.writeOnly === true;
}

function withMeta(expr: Expr, entries: Array<[string, string]>): void {
  if (entries.length > 0) expr.calls.push({ method: "meta", args: [], entries });
}

/** The title Cog gives a field by itself: Python's `name.replace("_", " ").title()`. */
function cogTitle(name: string): string {
  return name.replace(/_/g, " ").replace(/[A-Za-z]+/g, (word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase());
}

/**
 * The model's Output with its references resolved, as `outputSchema`, for the page's output panel;
 * nothing when the model describes no output.
 */
function outputSection(schemas: NamedSchemas): string[] {
  const output = schemas.Output;
  if (!isObject(output)) return [];
  let resolved: OpenApiSchema;
  try {
    resolved = resolveReferences(output, schemas) as OpenApiSchema;
  } catch (error) {
    if (!(error instanceof UnexpressibleSchemaError)) throw error;
    return [
      ...wrapComment(
        `The model's Output schema is left out (${error.message}): the page judges the output by what arrives.`,
        "// ",
      ),
      "",
    ];
  }
  const { title, ...rest } = resolved;
  const schema = title === "Output" ? rest : resolved;
  const prefix = "export const outputSchema = ";
  return [
    "/**",
    ...wrapComment(
      `The model's output as JSON Schema (its OpenAPI \`Output\`): ${describeType(schema, schemas)}. ` +
        'The page\'s output panel reads it: `format: "uri"` strings are files (shown by their type), ' +
        '`"x-cog-array-type": "iterator"` with `"x-cog-array-display": "concatenate"` is text streamed as tokens.',
      " * ",
    ),
    " */",
    `${prefix}${renderLiteral(schema, "", WIDTH - prefix.length - " as const;".length)} as const;`,
    "",
  ];
}

// ---- rendering ---------------------------------------------------------------------------------

function renderField(plan: FieldPlan): string[] {
  const key = isIdentifier(plan.name) ? plan.name : quote(plan.name);
  const comments = plan.comments.flatMap((text) => wrapComment(text, "  // "));
  const inline = `  ${key}: ${renderInline(plan.expr)},`;
  const simple = plan.expr.calls.length <= 3 && !plan.expr.calls.some((call) => call.args.some((arg) => arg.includes("=>")));
  if (simple && inline.length <= WIDTH) return [...comments, inline];
  if (plan.expr.calls.length === 0) return [...comments, inline];
  const lines = [`  ${key}: ${plan.expr.head}`];
  plan.expr.calls.forEach((call, index) => {
    const last = index === plan.expr.calls.length - 1;
    lines.push(...renderCall(call, "    ", last ? "," : ""));
  });
  return [...comments, ...lines];
}

function renderCall(call: Call, indent: string, suffix: string): string[] {
  const inline = `${indent}.${call.method}(${callArgs(call)})${suffix}`;
  if (inline.length <= WIDTH) return [inline];
  if (call.entries) {
    const entries = call.entries.map(([key, value]) => `${indent}  ${key}: ${value},`);
    return [`${indent}.${call.method}({`, ...entries, `${indent}})${suffix}`];
  }
  if (call.args.length === 0) return [inline];
  return [`${indent}.${call.method}(`, ...call.args.map((arg) => `${indent}  ${arg},`), `${indent})${suffix}`];
}

function renderInline(expr: Expr): string {
  return expr.head + expr.calls.map((call) => `.${call.method}(${callArgs(call)})`).join("");
}

function callArgs(call: Call): string {
  if (!call.entries) return call.args.join(", ");
  return `{ ${call.entries.map(([key, value]) => `${key}: ${value}`).join(", ")} }`;
}

/** A JSON value as a TypeScript literal on one line: keys unquoted where they may be. */
function literal(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(literal).join(", ")}]`;
  if (isObject(value)) {
    const entries = Object.entries(value).map(([key, item]) => `${propertyKey(key)}: ${literal(item)}`);
    return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The same, broken over lines (nested by two spaces) where it does not fit in `room` characters. */
function renderLiteral(value: unknown, indent: string, room: number): string {
  const inline = literal(value);
  if (inline.length <= room || !(Array.isArray(value) || isObject(value))) return inline;
  const inner = `${indent}  `;
  const itemRoom = WIDTH - inner.length - 1;
  if (Array.isArray(value)) {
    if (value.length === 0) return inline;
    return `[\n${value.map((item) => `${inner}${renderLiteral(item, inner, itemRoom)},`).join("\n")}\n${indent}]`;
  }
  const entries = Object.entries(value).map(([key, item]) => {
    const start = `${inner}${propertyKey(key)}: `;
    return `${start}${renderLiteral(item, inner, WIDTH - start.length - 1)},`;
  });
  return `{\n${entries.join("\n")}\n${indent}}`;
}

// `__proto__: x` in an object literal would set the prototype; a computed key is a plain property.
function propertyKey(key: string): string {
  if (key === "__proto__") return `[${quote(key)}]`;
  return isIdentifier(key) ? key : quote(key);
}

function imports(helpers: Set<Helper>): string[] {
  const lines = ['import { z } from "zod";'];
  if (helpers.has("imageFile")) lines.push('import { toImageDataUrl } from "@/lib/server/image";');
  return lines;
}

function helperSource(helpers: Set<Helper>): string[] {
  if (helpers.size === 0) return [];
  const lines = ["const HTTP_URL = /^https?:\\/\\/\\S+$/i;", ""];
  if (helpers.has("imageFile")) {
    lines.push(
      "// A file input: an http(s) URL (Replicate downloads it), raw base64 (sent on as a data URL whose",
      "// type is sniffed from the bytes) or a data:image URL.",
      'const imageFile = z.string({ error: "must be a string" }).transform((value, context) => {',
      "  if (HTTP_URL.test(value)) return value;",
      "  const result = toImageDataUrl(value);",
      "  if (result.ok) return result.dataUrl;",
      '  context.addIssue({ code: "custom", message: result.reason });',
      "  return z.NEVER;",
      "});",
      "",
    );
  }
  if (helpers.has("file")) {
    lines.push(
      "// A file input that need not be an image: an http(s) URL (Replicate downloads it) or a base64 data",
      "// URL such as data:audio/wav;base64,... (raw base64 says nothing of its type, so it needs the prefix).",
      "const BASE64_DATA_URL = /^data:[\\w.+-]+\\/[\\w.+-]+(;[^;,]*)*;base64,./i;",
      'const file = z.string({ error: "must be a string" }).refine(',
      "  (value) => HTTP_URL.test(value) || BASE64_DATA_URL.test(value),",
      '  "must be an http(s) URL or a base64 data URL (data:<type>;base64,...)",',
      ");",
      "",
    );
  }
  return lines;
}

function filesParsed(fileFields: string[]): string {
  if (fileFields.length === 0) return "";
  if (fileFields.length === 1) return `, \`${fileFields[0]}\` is already a URL or data URL`;
  return `, ${fileFields.map((name) => `\`${name}\``).join(", ")} are already URLs or data URLs`;
}

// What the file is and what the page's form reads of it: the same in every generated file.
const HEADER_OPENING = [
  " * EDIT THIS FILE to fit your own model: the request body your page sends, and how it maps to",
  " * the model's `input`. Everything else (config, retries, waiting, canceling) stays as it is. The",
  " * page's form is drawn from this schema (GET /api/ai/replicate/schema answers it as JSON Schema):",
  ' * each field\'s `.meta({ title, description, default, examples, "x-order" })`, z.enum as a select,',
  ' * bounded numbers as sliders (small ranges), z.boolean as a toggle, `.meta({ format: "uri",',
  ' * "x-file": "image/*" })` (or audio/*, video/*) as a file picker, `.meta({ "x-presets": [...] })`',
  " * as suggested values; `outputSchema` tells the output panel files from streamed text. A default",
  " * goes in `.meta({ default })`, not zod's `.default()`: the route sends only what the user set.",
];

function header(): string {
  return [
    "/**",
    ...HEADER_OPENING,
    " *",
    " * Generated by `npm run model` (dev/fit-model) from the model version `generatedFrom` names;",
    " * running it again rewrites this file, so review the diff.",
    " */",
  ].join("\n");
}

/** What the file records of its source, for `npm run demo` and `npm run doctor` to compare with the configuration. */
function generatedFromSource(options: GenerateOptions): string[] {
  const entries: Array<[string, string]> = [
    ["model", quote(options.model)],
    ["version", quote(options.version)],
    ...(options.deployment ? ([["deployment", quote(options.deployment)]] as Array<[string, string]>) : []),
  ];
  return [
    "/** The model version this file was generated from (`npm run demo` runs it, `npm run doctor` compares it). */",
    "export const generatedFrom = {",
    ...entries.map(([key, value]) => `  ${key}: ${value},`),
    "} as const;",
    "",
  ];
}

// The seed's own one-line doc when no field has a default, so the default model regenerates it.
function bodyDoc(anyDefault: boolean): string[] {
  const unknownKeys = "Unknown keys are rejected (a typo such as `promt` is an error, not a silently ignored field).";
  if (!anyDefault) return [`/** The request body. ${unknownKeys} */`];
  const defaults =
    "Fields with a default are optional: the route sends only what the user set, and Replicate applies the " +
    "model's default (its `default` in `.meta`).";
  return ["/**", ...wrapComment(`The request body. ${defaults} ${unknownKeys}`, " * "), " */"];
}

function describeType(schema: OpenApiSchema, schemas: NamedSchemas): string {
  if (schema.type === "array" && isObject(schema.items)) {
    const item = resolveSchema(schema.items, schemas);
    if (schema["x-cog-array-type"] === "iterator" && item.type === "string" && item.format !== "uri") {
      return "text, as an array of strings to join (produced piece by piece, so it can be streamed)";
    }
    const items = item.type === "string" && item.format === "uri" ? "file URLs" : `items, each ${describeType(item, schemas)}`;
    return schema["x-cog-array-type"] === "iterator" ? `an array of ${items}, produced one by one` : `an array of ${items}`;
  }
  if (schema.type === "string") return schema.format === "uri" ? "a file URL" : "a string";
  if (schema.type === "integer") return "a whole number";
  if (schema.type === "number") return "a number";
  if (schema.type === "boolean") return "true or false";
  if (schema.type === "object" && isObject(schema.properties))
    return `an object with ${Object.keys(schema.properties).join(", ")}`;
  return "a value of a shape this generator does not describe";
}

// ---- text helpers ------------------------------------------------------------------------------

function wrapComment(text: string, prefix: string): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    let line = "";
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line && prefix.length + line.length + 1 + word.length > COMMENT_WIDTH) {
        lines.push(prefix + line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(prefix + line);
  }
  return lines;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function num(value: number): string {
  return String(value);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

// Words that cannot name an arrow function's parameter (the field is then called `value` there).
const RESERVED_WORDS = new Set(
  (
    "arguments await break case catch class const continue debugger default delete do else enum eval export extends " +
    "false finally for function if implements import in instanceof interface let new null package private protected " +
    "public return static super switch this throw true try typeof var void while with yield"
  ).split(" "),
);

function isIdentifier(name: string): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(name);
}
