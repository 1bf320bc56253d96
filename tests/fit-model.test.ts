// npm run model's generator: for every simulated model, the schema.ts it writes type-checks with the
// project's tsconfig and checks bodies as the model's schema says; what it cannot express it says.
import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import * as zod from "zod";
import { generateSchemaFile } from "@/dev/fit-model/generate";
import { UnexpressibleSchemaError, type OpenApiSchema } from "@/dev/fit-model/json-schema";
import {
  cogOpenApiSchema,
  FAST_IMAGE_FIRST_VERSION,
  FAST_IMAGE_MODEL,
  IMAGE_EDIT_MODEL,
  IMAGE_MODEL,
  LANGUAGE_MODEL,
  SIMULATED_MODELS,
  SPEECH_TO_TEXT_MODEL,
  type ModelVersion,
  type SimulatedModel,
} from "@/dev/simulator/models";
import * as image from "@/lib/server/image";
import * as seedSchema from "@/tests/support/seed-schema";
import { APP_SCHEMA_FILE, notTheSeedNotice, seedSchemaText } from "@/tests/support/seed-schema-file";
import { Problem } from "@/lib/server/problem";
import { parseOrProblem } from "@/lib/server/validation";
import { toFieldDescriptors, type JsonSchema as FormJsonSchema } from "@/lib/browser/form-schema";

const ROOT = path.resolve(__dirname, "..");
const PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
const WAV_DATA_URL = "data:audio/wav;base64,UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";

interface SchemaModule {
  requestBodySchema: zod.ZodType;
  toModelInput: (body: never) => Record<string, unknown>;
  outputSchema?: unknown;
  generatedFrom?: unknown;
}

function generateOptions(model: SimulatedModel, version: ModelVersion = model.latest_version) {
  return { model: `${model.owner}/${model.name}`, version: version.id, openapiSchema: version.openapi_schema };
}

function generate(model: SimulatedModel, version: ModelVersion = model.latest_version) {
  return generateSchemaFile(generateOptions(model, version));
}

function generateFrom(
  input: Record<string, OpenApiSchema>,
  required: string[] = [],
  enums?: Record<string, string[]>,
  output: Record<string, unknown> = { type: "string" },
) {
  const openapiSchema = cogOpenApiSchema({ input, required, output, enums });
  return generateSchemaFile({ model: "acme/test", version: "a".repeat(64), openapiSchema });
}

/** The input JSON Schema GET /api/ai/replicate/schema answers for a generated module (the route's own conversion). */
function formSchema(module: SchemaModule): FormJsonSchema {
  return zod.toJSONSchema(module.requestBodySchema, { io: "input", unrepresentable: "any" }) as FormJsonSchema;
}

// The generated module, run as the route would run it: compiled by TypeScript, with its two imports
// bound to the real zod and the real image helper.
function load(source: string): SchemaModule {
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  });
  const modules: Record<string, unknown> = { zod, "@/lib/server/image": image };
  const exports: Record<string, unknown> = {};
  new Function("require", "exports", js.outputText)((name: string) => modules[name], exports);
  return exports as unknown as SchemaModule;
}

/** The input the route would send for a body, or the names of the fields it rejects. */
function check(module: SchemaModule, body: unknown): { input: Record<string, unknown> } | { rejected: string[] } {
  try {
    return { input: module.toModelInput(parseOrProblem(module.requestBodySchema, body) as never) };
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    return { rejected: (error.toJSON().invalid_fields as { field: string }[]).map((field) => field.field).sort() };
  }
}

// Type-checks sources placed (in memory only) beside the real schema.ts, with the project's
// tsconfig (its `@/` path, strict mode): what `tsc --noEmit` would say once the file is written.
function typeErrors(files: Record<string, string>): Record<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, "tsconfig.json"),
    { incremental: false, noEmit: true },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
      },
    },
  );
  if (!config) throw new Error("tsconfig.json could not be read");
  const virtual = new Map(Object.entries(files).map(([name, text]) => [path.join(ROOT, "app/api/ai/replicate", name), text]));
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (file) => virtual.get(path.resolve(file)) ?? readFile(file);
  host.fileExists = (file) => virtual.has(path.resolve(file)) || fileExists(file);
  const program = ts.createProgram([...virtual.keys()], config.options, host);
  return Object.fromEntries(
    [...virtual.keys()].map((file) => [
      path.basename(file),
      ts
        .getPreEmitDiagnostics(program, program.getSourceFile(file))
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, " ")),
    ]),
  );
}

describe("the generated schema.ts type-checks", () => {
  let errors: Record<string, string[]>;

  beforeAll(() => {
    const files: Record<string, string> = {};
    for (const model of SIMULATED_MODELS) {
      files[`generated-${model.name}.ts`] = generate(model).source;
      // Type-level use, as the page and route make of it: required fields required, names typed.
      const required = (model.latest_version.openapi_schema.components as { schemas: { Input: { required: string[] } } }).schemas
        .Input.required;
      files[`use-${model.name}.ts`] = [
        `import { toModelInput, type RequestBody } from "./generated-${model.name}";`,
        `export const input = toModelInput({} as RequestBody);`,
        ...required.map((name) => `// @ts-expect-error ${name} is required\nexport const without_${name}: RequestBody = {};`),
        `// @ts-expect-error unknown keys are not part of the type`,
        `export const typo: RequestBody["promt"] = "x";`,
      ].join("\n");
    }
    // A control: a mistake in such a file is reported, so the check can fail.
    files["generated-broken.ts"] = generate(IMAGE_MODEL).source.replace("return { ...body };", "return body.nope;");
    errors = typeErrors(files);
  }, 60_000);

  it.each(SIMULATED_MODELS.map((model) => [model.name]))("for %s, and its types say which fields are required", (name) => {
    expect(errors[`generated-${name}.ts`]).toEqual([]);
    expect(errors[`use-${name}.ts`]).toEqual([]);
  });

  it("reports a type error when there is one", () => {
    expect(errors["generated-broken.ts"].join("\n")).toContain("nope");
  });
});

describe("the generated schema checks bodies as the model's schema says", () => {
  it.each<[string, SimulatedModel, unknown[], Array<[unknown, string[]]>]>([
    [
      "the seed's image model",
      IMAGE_MODEL,
      [{ prompt: "a cat" }, { prompt: "a cat", seed: 0, style: "anime" }, { prompt: "p", image: "https://example.com/cat.png" }],
      [
        [{}, ["prompt"]],
        [{ prompt: "  " }, ["prompt"]],
        [{ prompt: "p", seed: -1 }, ["seed"]],
        [{ prompt: "p", seed: 1.5 }, ["seed"]],
        [{ prompt: "p", image: "not base64!" }, ["image"]],
        [{ prompt: "p", promt: "typo" }, ["promt"]],
      ],
    ],
    [
      "a fast text-to-image model",
      FAST_IMAGE_MODEL,
      [{ prompt: "p" }, { prompt: "p", aspect_ratio: "16:9", num_outputs: 4, output_format: "png", go_fast: false, seed: 7 }],
      [
        [{ aspect_ratio: "1:1" }, ["prompt"]],
        [{ prompt: "p", num_outputs: 0 }, ["num_outputs"]],
        [{ prompt: "p", num_outputs: 5 }, ["num_outputs"]],
        [{ prompt: "p", num_outputs: 2.5 }, ["num_outputs"]],
        [{ prompt: "p", aspect_ratio: "2:1" }, ["aspect_ratio"]],
        [{ prompt: "p", output_format: "gif" }, ["output_format"]],
        [{ prompt: "p", go_fast: "yes" }, ["go_fast"]],
        [{ prompt: "p", steps: 4 }, ["steps"]],
      ],
    ],
    [
      "an image-to-image model",
      IMAGE_EDIT_MODEL,
      [
        { prompt: "p", image: PNG_BASE64 },
        { prompt: "p", image: "https://example.com/in.jpg", strength: 1, num_inference_steps: 50 },
      ],
      [
        [{ prompt: "p" }, ["image"]],
        [{ prompt: "p", image: PNG_BASE64, strength: 1.01 }, ["strength"]],
        [{ prompt: "p", image: PNG_BASE64, guidance_scale: -0.5 }, ["guidance_scale"]],
        [{ prompt: "p", image: PNG_BASE64, num_inference_steps: 51 }, ["num_inference_steps"]],
        [{ prompt: "p", image: 42 }, ["image"]],
      ],
    ],
    [
      "a language model",
      LANGUAGE_MODEL,
      [{ prompt: "hi" }, { prompt: "hi", system_prompt: "Be terse.", max_tokens: 8192, temperature: 0, top_p: 1 }],
      [
        [{ system_prompt: "x" }, ["prompt"]],
        [{ prompt: "hi", max_tokens: 0 }, ["max_tokens"]],
        [{ prompt: "hi", temperature: 5.5 }, ["temperature"]],
        [{ prompt: "hi", temperature: "hot" }, ["temperature"]],
        [{ prompt: "hi", stream: true }, ["stream"]],
      ],
    ],
    [
      "a speech-to-text model",
      SPEECH_TO_TEXT_MODEL,
      [{ audio: WAV_DATA_URL }, { audio: "https://example.com/talk.mp3", language: "de", translate: true, temperature: 0.2 }],
      [
        [{ language: "en" }, ["audio"]],
        [{ audio: "UklGRiQAAABXQVZF" }, ["audio"]],
        [{ audio: WAV_DATA_URL, language: "klingon" }, ["language"]],
        [{ audio: WAV_DATA_URL, translate: 1 }, ["translate"]],
        [{ audio: WAV_DATA_URL, temperature: 2 }, ["temperature"]],
      ],
    ],
  ])("%s: valid bodies pass through, invalid ones name their fields", (_name, model, valid, invalid) => {
    const module = load(generate(model).source);
    for (const body of valid) expect(check(module, body), JSON.stringify(body)).toHaveProperty("input");
    for (const [body, fields] of invalid) expect(check(module, body), JSON.stringify(body)).toEqual({ rejected: fields });
  });

  it("sends only what the body set: defaults are left to Replicate", () => {
    const module = load(generate(FAST_IMAGE_MODEL).source);
    expect(check(module, { prompt: "p", num_outputs: 2 })).toEqual({ input: { prompt: "p", num_outputs: 2 } });
  });

  it("sends an image as a data URL with its sniffed type, and an http(s) URL as it is", () => {
    const module = load(generate(IMAGE_EDIT_MODEL).source);
    expect(check(module, { prompt: "p", image: PNG_BASE64 })).toEqual({
      input: { prompt: "p", image: `data:image/png;base64,${PNG_BASE64}` },
    });
    expect(check(module, { prompt: "p", image: "https://x.test/a.png" })).toEqual({
      input: { prompt: "p", image: "https://x.test/a.png" },
    });
  });

  it("names the version it was written from, and says what the output is", () => {
    expect(load(generate(FAST_IMAGE_MODEL).source).generatedFrom).toEqual({
      model: "simulated/fast-image",
      version: "93d41647b72ae4c7ba6867d2570935b470f00aa53c2a825343392d8d2709a17c",
    });
    const viaDeployment = generateSchemaFile({ ...generateOptions(IMAGE_MODEL), deployment: "acme/prod" });
    expect(load(viaDeployment.source).generatedFrom).toEqual({
      model: "simulated/image-model",
      version: IMAGE_MODEL.latest_version.id,
      deployment: "acme/prod",
    });
    expect(generate(LANGUAGE_MODEL).source).toContain("(its OpenAPI `Output`): text, as an array of strings to join");
  });
});

describe("the generated schema gives the page its form and output panel", () => {
  it("carries each field's description, default and x-order in .meta, without zod defaults", () => {
    const module = load(generate(FAST_IMAGE_MODEL).source);
    const { properties, required } = formSchema(module);
    expect(required).toEqual(["prompt"]);
    expect(properties?.num_outputs).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 4,
      description: "Number of outputs to generate",
      default: 1,
      "x-order": 2,
    });
    expect(properties?.aspect_ratio).toMatchObject({
      default: "1:1",
      "x-order": 1,
      description: "Aspect ratio for the generated image",
    });
    // The enum's own schema is titled with its name: that is no title of the field.
    expect(properties?.aspect_ratio).not.toHaveProperty("title");
    // Defaults are shown, never filled in by zod: the body stays as the user left it.
    expect(check(module, { prompt: "p" })).toEqual({ input: { prompt: "p" } });
  });

  it.each<[string, SimulatedModel, Array<[string, string, boolean]>]>([
    [
      "the seed's image model",
      IMAGE_MODEL,
      [
        ["prompt", "textarea", true],
        ["seed", "number", false],
        ["style", "text", false],
        ["image", "file", false],
      ],
    ],
    [
      "the fast text-to-image model",
      FAST_IMAGE_MODEL,
      [
        ["prompt", "textarea", true],
        ["aspect_ratio", "select", false],
        ["num_outputs", "number", false],
        ["output_format", "select", false],
        ["go_fast", "boolean", false],
        ["seed", "number", false],
      ],
    ],
    [
      "the image-to-image model",
      IMAGE_EDIT_MODEL,
      [
        ["image", "file", true],
        ["prompt", "textarea", true],
        ["negative_prompt", "textarea", false],
        ["strength", "number", false],
        ["num_inference_steps", "number", false],
        ["guidance_scale", "number", false],
        ["seed", "number", false],
      ],
    ],
    [
      "the language model",
      LANGUAGE_MODEL,
      [
        ["prompt", "textarea", true],
        ["system_prompt", "textarea", false],
        ["max_tokens", "number", false],
        ["temperature", "number", false],
        ["top_p", "number", false],
        ["stop_sequences", "text", false],
      ],
    ],
    [
      "the speech-to-text model",
      SPEECH_TO_TEXT_MODEL,
      [
        ["audio", "file", true],
        ["language", "select", false],
        ["translate", "boolean", false],
        ["temperature", "number", false],
        ["initial_prompt", "textarea", false],
      ],
    ],
  ])("%s: the form's fields, in the model's order", (_name, model, fields) => {
    const descriptors = toFieldDescriptors(formSchema(load(generate(model).source)));
    expect(descriptors.map((field) => [field.name, field.kind, field.required])).toEqual(fields);
  });

  it("marks file inputs with their media type, by name first, then by description; else any file", () => {
    const { source } = generateFrom({
      image: { type: "string", format: "uri", "x-order": 0 },
      speech: { type: "string", format: "uri", "x-order": 1 },
      input_file: { type: "string", format: "uri", description: "The recording to clean up", "x-order": 2 },
      clip: { type: "string", format: "uri", description: "A video to caption", "x-order": 3 },
      reference: { type: "string", format: "uri", description: "An image or a video to follow", "x-order": 4 },
      weights: { type: "string", format: "uri", description: "LoRA weights", "x-order": 5 },
    });
    const { properties } = formSchema(load(source));
    const files = Object.fromEntries(
      Object.entries(properties ?? {}).map(([name, property]) => [name, [property.format, property["x-file"]]]),
    );
    expect(files).toEqual({
      image: ["uri", "image/*"],
      speech: ["uri", "audio/*"],
      input_file: ["uri", "audio/*"],
      clip: ["uri", "video/*"],
      reference: ["uri", undefined],
      weights: ["uri", undefined],
    });
    const fields = Object.fromEntries(toFieldDescriptors(formSchema(load(source))).map((field) => [field.name, field]));
    expect(fields.weights).toMatchObject({ kind: "file", accept: "*/*" });
    expect(fields.clip).toMatchObject({ kind: "file", accept: "video/*" });
  });

  it("takes a file input's types from Cog's x-cog-accept before its name", () => {
    const { source } = generateFrom({
      image: { type: "string", format: "uri", "x-cog-accept": ["image/png", "image/jpeg"], "x-order": 0 },
      scan: { type: "string", format: "uri", "x-cog-accept": "image/tiff, image/png", "x-order": 1 },
      photo_archive: { type: "string", format: "uri", "x-cog-accept": ["application/zip"], "x-order": 2 },
    });
    const fields = Object.fromEntries(toFieldDescriptors(formSchema(load(source))).map((field) => [field.name, field]));
    expect(fields.image).toMatchObject({ kind: "file", accept: "image/png,image/jpeg" });
    expect(fields.scan).toMatchObject({ kind: "file", accept: "image/tiff,image/png" });
    expect(fields.photo_archive).toMatchObject({ kind: "file", accept: "application/zip" });
    // Image types take raw base64 as the image helper does; a zip needs a data URL.
    const module = load(source);
    expect(check(module, { image: PNG_BASE64, scan: PNG_BASE64 })).toEqual({
      input: { image: `data:image/png;base64,${PNG_BASE64}`, scan: `data:image/png;base64,${PNG_BASE64}` },
    });
    expect(check(module, { photo_archive: PNG_BASE64 })).toEqual({ rejected: ["photo_archive"] });
  });

  it.each([
    ["x-cog-secret", { "x-cog-secret": true }],
    ["format: password", { format: "password" }],
    ["writeOnly", { writeOnly: true }],
  ])("draws a secret input (%s) as a password field, with no default or examples to show", (_, marks) => {
    const { source } = generateFrom({
      api_key: { type: "string", default: "sk-example", examples: ["sk-123"], "x-order": 0, ...marks },
      prompt: { type: "string", "x-order": 1 },
    });
    expect(source).not.toContain("sk-");
    const [secret, prompt] = toFieldDescriptors(formSchema(load(source)));
    expect(secret).toMatchObject({ name: "api_key", kind: "text", secret: true });
    expect(secret).not.toHaveProperty("default");
    expect(prompt).not.toHaveProperty("secret");
    expect(check(load(source), { api_key: "sk-live" })).toEqual({ input: { api_key: "sk-live" } });
  });

  it("keeps a title the model wrote, leaves out the one Cog makes from the name, and keeps examples", () => {
    const { source } = generateFrom({
      num_steps: { type: "integer", title: "Num Steps", "x-order": 0 },
      cfg: { type: "number", title: "Guidance (CFG)", "x-order": 1 },
      caption: { type: "string", title: "Caption", examples: ["a cat", "a dog"], "x-order": 2 },
    });
    const { properties } = formSchema(load(source));
    expect(properties?.num_steps).not.toHaveProperty("title");
    expect(properties?.cfg).toMatchObject({ title: "Guidance (CFG)" });
    expect(properties?.caption).toMatchObject({ examples: ["a cat", "a dog"] });
    expect(properties?.caption).not.toHaveProperty("title");
  });

  it("writes defaults of any JSON shape as literals, a key named __proto__ included", () => {
    const fallback = { mode: "fast", "x-y": [1, 2], __proto__: null, nested: { ok: true } };
    const withProto = JSON.parse(JSON.stringify(fallback).replace('"mode"', '"__proto__":{"a":1},"mode"'));
    const { source } = generateFrom({ options: { type: "object", default: withProto } });
    const { properties } = formSchema(load(source));
    expect(properties?.options?.default).toEqual(withProto);
    expect(Object.getPrototypeOf(properties?.options?.default)).toBe(Object.prototype);
  });

  it.each<[string, SimulatedModel, unknown]>([
    ["the seed's image model", IMAGE_MODEL, { type: "array", items: { type: "string", format: "uri" } }],
    ["the image-to-image model", IMAGE_EDIT_MODEL, { type: "string", format: "uri" }],
    [
      "the language model",
      LANGUAGE_MODEL,
      { type: "array", items: { type: "string" }, "x-cog-array-type": "iterator", "x-cog-array-display": "concatenate" },
    ],
    ["the speech-to-text model", SPEECH_TO_TEXT_MODEL, { type: "string" }],
  ])("exports %s's Output as outputSchema", (_name, model, output) => {
    expect(load(generate(model).source).outputSchema).toEqual(output);
  });

  it("resolves the Output's references, and leaves outputSchema out when one does not resolve", () => {
    const output = {
      type: "object",
      properties: {
        label: { allOf: [{ $ref: "#/components/schemas/label" }] },
        files: { type: "array", items: { type: "string", format: "uri" } },
      },
    };
    const resolved = load(generateFrom({ prompt: { type: "string" } }, [], { label: ["cat", "dog"] }, output).source);
    expect(resolved.outputSchema).toEqual({
      type: "object",
      properties: {
        label: { enum: ["cat", "dog"], type: "string", title: "label", description: "An enumeration." },
        files: { type: "array", items: { type: "string", format: "uri" } },
      },
    });
    const broken = generateFrom({ prompt: { type: "string" } }, [], {}, { $ref: "#/components/schemas/Missing" });
    expect(load(broken.source).outputSchema).toBeUndefined();
    expect(broken.source).toContain(
      "// The model's Output schema is left out (The schema refers to #/components/schemas/Missing",
    );
  });
});

/**
 * The committed schema.ts's hand edits, each marked "Hand edit" in the file: what `npm run model
 * -- simulated/image-model` writes, and what the file says instead (the model's schema has no
 * examples and no presets, so the generator cannot write them).
 */
const HAND_EDITS: Array<[string, string]> = [
  [
    '    .meta({ description: "What to draw.", "x-order": 0 }),',
    "    // Hand edit: a placeholder for the form (the model's schema has no examples).\n" +
      '    .meta({ description: "What to draw.", examples: ["A lighthouse on a cliff at dusk, volumetric light"], "x-order": 0 }),',
  ],
  [
    '    .meta({ description: "A style name such as anime or watercolor.", "x-order": 2 }),',
    "    // Hand edit: the form offers these styles (x-presets); the model takes any style name.\n" +
      "    .meta({\n" +
      '      description: "A style name such as anime or watercolor.",\n' +
      '      "x-order": 2,\n' +
      '      "x-presets": ["photographic", "anime", "watercolor", "pixel-art"],\n' +
      "    }),",
  ],
];

describe("the seed's default model regenerates the seed schema (tests/support/seed-schema.ts)", () => {
  const generated = load(generate(IMAGE_MODEL).source);
  const shape = (module: { requestBodySchema: unknown }) => Object.keys((module.requestBodySchema as zod.ZodObject).shape);

  it("with the same fields in the same order", () => {
    expect(shape(generated)).toEqual(shape(seedSchema));
  });

  it.each([
    { prompt: "a cat" },
    { prompt: "a cat", seed: 0, style: "anime", image: PNG_BASE64 },
    { prompt: "p", image: `data:image/png;base64,${PNG_BASE64}` },
    {},
    { prompt: "   " },
    { prompt: 42 },
    { prompt: "p", seed: -1 },
    { prompt: "p", seed: 2 ** 60 },
    { prompt: "p", seed: "7" },
    { prompt: "p", style: ["a"] },
    { prompt: "p", image: "not base64!" },
    { prompt: "p", promt: "typo" },
    { seed: -2, extra: true },
  ])("and answers %j as it does", (body) => {
    expect(check(generated, body)).toEqual(check(seedSchema as unknown as SchemaModule, body));
  });

  it("word for word, but for its documented hand edits (the form's placeholder and style presets)", () => {
    const { source } = generate(IMAGE_MODEL);
    let edited = source;
    for (const [generatedText, committedText] of HAND_EDITS) {
      expect(edited.split(generatedText)).toHaveLength(2);
      edited = edited.replace(generatedText, committedText);
    }
    expect(seedSchemaText()).toBe(edited);
  });
});

// The committed file itself; once `npm run model` fitted it to another model, skipped (one line says so).
const fitted = notTheSeedNotice("the test of the committed schema.ts");
if (fitted) console.warn(fitted);
describe.skipIf(fitted !== "")("the committed schema.ts", () => {
  it("is the seed schema word for word", () => {
    expect(readFileSync(APP_SCHEMA_FILE, "utf8")).toBe(seedSchemaText());
  });
});

describe("the generated file is deterministic", () => {
  it("orders fields by x-order, then by name, whatever the order of the JSON", () => {
    const fields = {
      b: { type: "string" },
      a: { type: "string" },
      last: { type: "string", "x-order": 9 },
      first: { type: "string", "x-order": 0 },
    };
    const reversed = Object.fromEntries(Object.entries(fields).reverse());
    expect(generateFrom(fields).fields).toEqual(["first", "last", "a", "b"]);
    expect(generateFrom(reversed).source).toBe(generateFrom(fields).source);
  });

  it("for a new version, changes only the lines of what the model changed", () => {
    const before = generate(FAST_IMAGE_MODEL, FAST_IMAGE_FIRST_VERSION).source.split("\n");
    const after = generate(FAST_IMAGE_MODEL).source.split("\n");
    const removed = before.filter((line) => !after.includes(line));
    const added = after.filter((line) => !before.includes(line));
    expect(removed).toEqual([
      `  version: "${FAST_IMAGE_FIRST_VERSION.id}",`,
      '    .enum(["webp", "jpg"], { error: "must be one of webp, jpg" })',
    ]);
    expect(added).toEqual([
      `  version: "${FAST_IMAGE_MODEL.latest_version.id}",`,
      '    .enum(["webp", "jpg", "png"], { error: "must be one of webp, jpg, png" })',
      "  go_fast: z",
      '    .boolean({ error: "must be true or false" })',
      "    .meta({",
      '      description: "Run faster predictions with a model optimized for speed (currently fp8 quantized)",',
      "      default: true,",
      '      "x-order": 4,',
      "    }),",
    ]);
  });
});

describe("schemas beyond the catalogue", () => {
  it("checks enums of numbers, nullable fields, exclusive bounds, patterns and arrays of images", () => {
    const { source } = generateFrom(
      {
        steps: { type: "integer", enum: [1, 2, 4], "x-order": 0 },
        negative: { anyOf: [{ type: "string" }, { type: "null" }], "x-order": 1 },
        scale: { type: "number", minimum: 0, exclusiveMinimum: true, "x-order": 2 },
        code: { type: "string", pattern: "^[A-Z]{3}$", "x-order": 3 },
        images: { type: "array", items: { type: "string", format: "uri" }, minItems: 1, maxItems: 2, "x-order": 4 },
        tags: { type: "array", items: { type: "string" }, default: [], "x-order": 5 },
      },
      ["images"],
    );
    const module = load(source);
    expect(check(module, { images: [PNG_BASE64], steps: 4, negative: null, scale: 0.1, code: "ABC", tags: ["a"] })).toEqual({
      input: {
        images: [`data:image/png;base64,${PNG_BASE64}`],
        steps: 4,
        negative: null,
        scale: 0.1,
        code: "ABC",
        tags: ["a"],
      },
    });
    expect(check(module, { images: [], steps: 3, scale: 0, code: "abc", tags: [1] })).toEqual({
      rejected: ["code", "images", "scale", "steps", "tags.0"],
    });
    expect(check(module, { images: ["a", "b", "c"].map(() => PNG_BASE64) })).toEqual({ rejected: ["images"] });
  });

  it("quotes names that are not identifiers, and checks fields named like JavaScript words", () => {
    const { source } = generateFrom({ class: { type: "string" }, "negative-prompt": { type: "string" } }, [
      "class",
      "negative-prompt",
    ]);
    expect(source).toContain('  "negative-prompt": z\n');
    expect(source).toContain(".refine((value) => value.trim().length > 0");
    const module = load(source);
    expect(check(module, { class: "a", "negative-prompt": "b" })).toEqual({
      input: { class: "a", "negative-prompt": "b" },
    });
    expect(check(module, { class: " ", "negative-prompt": 1 })).toEqual({ rejected: ["class", "negative-prompt"] });
  });

  it("sends an optional field it cannot check on unchecked, with a comment, and lists it", () => {
    const generated = generateFrom(
      {
        prompt: { type: "string" },
        options: { type: "object", properties: { a: { type: "integer" } } },
        pick: { oneOf: [{ type: "string" }, { type: "integer" }] },
      },
      ["prompt"],
    );
    expect(generated.unchecked).toEqual([
      { field: "options", reason: "a nested object" },
      { field: "pick", reason: "oneOf" },
    ]);
    expect(generated.source).toContain(
      "  // Not checked here (a nested object): sent on as given, Replicate validates it.\n  options: z.unknown().optional(),",
    );
    // The form offers a JSON box for it.
    const fields = toFieldDescriptors(formSchema(load(generated.source)));
    expect(fields.map((field) => [field.name, field.kind, field.required])).toEqual([
      ["options", "json", false],
      ["pick", "json", false],
      ["prompt", "textarea", true],
    ]);
    expect(check(load(generated.source), { prompt: "p", options: { a: "x" }, pick: [] })).toEqual({
      input: { prompt: "p", options: { a: "x" }, pick: [] },
    });
  });

  it.each<[string, () => unknown, string]>([
    [
      "a required field it cannot check",
      () => generateFrom({ config: { type: "object" } }, ["config"]),
      "config: required, but a nested object",
    ],
    [
      "a reference that does not resolve",
      () => generateFrom({ mode: { allOf: [{ $ref: "#/components/schemas/mode" }] } }),
      "#/components/schemas/mode",
    ],
    [
      "a schema without Input",
      () => generateSchemaFile({ model: "a/b", version: "a".repeat(64), openapiSchema: { components: {} } }),
      "components.schemas.Input",
    ],
    ["a pattern JavaScript cannot compile", () => generateFrom({ code: { type: "string", pattern: "(?<" } }), "(?<"],
  ])("refuses %s, saying what", (_name, run, words) => {
    expect(run).toThrow(UnexpressibleSchemaError);
    expect(run).toThrow(words);
  });
});
