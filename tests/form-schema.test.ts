import { describe, expect, it, vi } from "vitest";
import { fetchModelSchemas, labelOf, shownValue, toFieldDescriptors, type JsonSchema } from "@/lib/browser/form-schema";
import { toRequestBody } from "@/lib/browser/request-body";
import { SEED_FIELDS } from "@/tests/support/seed-form";

// Shaped like Replicate's OpenAPI `Input` schemas (Cog emits title, x-order, defaults, enums).
const TEXT_TO_IMAGE: JsonSchema = {
  type: "object",
  required: ["prompt"],
  properties: {
    output_format: { type: "string", enum: ["webp", "jpg", "png"], default: "webp", "x-order": 4 },
    prompt: { type: "string", title: "Prompt", description: "Prompt for generated image", "x-order": 0 },
    aspect_ratio: { type: "string", enum: ["1:1", "16:9", "9:16"], default: "1:1", "x-order": 1 },
    num_outputs: { type: "integer", minimum: 1, maximum: 4, default: 1, title: "Num Outputs", "x-order": 2 },
    go_fast: { type: "boolean", default: true, "x-order": 3 },
    seed: { type: "integer", description: "Random seed. Set for reproducible generation", "x-order": 5 },
  },
};

const LLM: JsonSchema = {
  type: "object",
  required: ["prompt"],
  properties: {
    prompt: { type: "string" },
    system_prompt: { type: "string", default: "You are a helpful assistant." },
    max_tokens: { type: "integer", minimum: 1, maximum: 8192, default: 512 },
    temperature: { type: "number", minimum: 0, maximum: 2, default: 0.7, description: "Randomness of the output" },
    stop_sequences: { anyOf: [{ type: "string" }, { type: "null" }], maxLength: 100 },
  },
};

const SPEECH_TO_TEXT: JsonSchema = {
  type: "object",
  required: ["audio"],
  properties: {
    audio: { type: "string", format: "uri", "x-file": "audio/*", description: "Audio file" },
    language: { type: "string", enum: ["auto", "en", "fr"], default: "auto" },
    translate: { type: "boolean", default: false },
    initial_prompt: { type: "string", maxLength: 200 },
    word_timestamps: { type: "array", items: { type: "string" } },
  },
};

const byName = (schema: JsonSchema) => Object.fromEntries(toFieldDescriptors(schema).map((field) => [field.name, field]));

describe("schema to form fields", () => {
  it("keeps the seed's page: prompt textarea with its placeholder, seed, style presets, image picker", () => {
    const [prompt, seed, style, image] = SEED_FIELDS;
    expect(prompt).toMatchObject({
      name: "prompt",
      kind: "textarea",
      required: true,
      label: "Prompt",
      placeholder: "A lighthouse on a cliff at dusk, volumetric light",
    });
    expect(seed).toMatchObject({ name: "seed", kind: "number", integer: true, min: 0, slider: false, required: false });
    expect(style).toMatchObject({
      name: "style",
      kind: "select",
      presetsOnly: true,
      options: ["photographic", "anime", "watercolor", "pixel-art"],
    });
    expect(image).toMatchObject({ name: "image", kind: "file", accept: "image/*", label: "Image" });
  });

  it("reads a text-to-image model in its x-order: enums as selects, a small integer range as a slider, a toggle", () => {
    const fields = toFieldDescriptors(TEXT_TO_IMAGE);
    expect(fields.map((field) => field.name)).toEqual([
      "prompt",
      "aspect_ratio",
      "num_outputs",
      "go_fast",
      "output_format",
      "seed",
    ]);
    const { aspect_ratio, num_outputs, go_fast, output_format, seed, prompt } = byName(TEXT_TO_IMAGE);
    expect(prompt).toMatchObject({ kind: "textarea", label: "Prompt", description: "Prompt for generated image" });
    expect(aspect_ratio).toMatchObject({
      kind: "select",
      options: ["1:1", "16:9", "9:16"],
      default: "1:1",
      presetsOnly: false,
      label: "Aspect ratio",
    });
    expect(num_outputs).toMatchObject({
      kind: "number",
      integer: true,
      min: 1,
      max: 4,
      slider: true,
      step: 1,
      default: 1,
      label: "Num Outputs",
    });
    expect(go_fast).toMatchObject({ kind: "boolean", default: true });
    expect(output_format).toMatchObject({ kind: "select", default: "webp" });
    expect(seed).toMatchObject({ kind: "number", slider: false });
  });

  it("reads an LLM: a wide integer range is typed, a bounded number is a slider, nullable fields are their type", () => {
    const { prompt, system_prompt, max_tokens, temperature, stop_sequences } = byName(LLM);
    expect(prompt.kind).toBe("textarea");
    expect(system_prompt).toMatchObject({ kind: "textarea", default: "You are a helpful assistant." });
    expect(max_tokens).toMatchObject({ kind: "number", slider: false, min: 1, max: 8192, default: 512 });
    expect(temperature).toMatchObject({ kind: "number", integer: false, min: 0, max: 2, slider: true, step: 0.02, default: 0.7 });
    expect(stop_sequences).toMatchObject({ kind: "text", required: false });
  });

  it("reads speech-to-text: an audio picker, a short string on one line, an array typed as JSON", () => {
    const { audio, initial_prompt, word_timestamps, translate } = byName(SPEECH_TO_TEXT);
    expect(audio).toMatchObject({ kind: "file", accept: "audio/*", required: true });
    expect(initial_prompt.kind).toBe("text");
    expect(word_timestamps.kind).toBe("json");
    expect(translate).toMatchObject({ kind: "boolean", default: false });
    // format: "uri" alone is a picker for any file.
    expect(byName({ properties: { input_file: { type: "string", format: "uri" } } }).input_file).toMatchObject({
      kind: "file",
      accept: "*/*",
    });
  });

  it("labels names in words", () => {
    expect(labelOf("num_outputs")).toBe("Num outputs");
    expect(labelOf("guidanceScale")).toBe("Guidance scale");
    expect(labelOf("pixel-art")).toBe("Pixel art");
  });
});

describe("form values to the body, for any model", () => {
  const fields = toFieldDescriptors(TEXT_TO_IMAGE);

  it("shows defaults but sends only what was changed", () => {
    const num = byName(TEXT_TO_IMAGE).num_outputs;
    expect(shownValue(num, {})).toBe("1");
    expect(shownValue(byName(TEXT_TO_IMAGE).aspect_ratio, {})).toBe("1:1");
    expect(toRequestBody(fields, { prompt: "a fox" })).toEqual({ prompt: "a fox" });
  });

  it("sends a required field left as it was as it shows: text empty, slider at its value, toggle off", () => {
    const required = toFieldDescriptors({
      required: ["text", "steps", "flag", "mode"],
      properties: {
        text: { type: "string" },
        steps: { type: "integer", minimum: 1, maximum: 50 },
        flag: { type: "boolean" },
        mode: { type: "string", enum: ["a", "b"] },
      },
    });
    // The select shows "Choose…": nothing is sent, for the route to say the field is missing.
    expect(toRequestBody(required, {})).toEqual({ text: "", steps: 1, flag: false });
  });

  it("sends changed sliders, toggles and selects in their JSON types", () => {
    expect(toRequestBody(fields, { prompt: "a fox", num_outputs: "3", go_fast: false, aspect_ratio: "16:9", seed: "" })).toEqual({
      prompt: "a fox",
      num_outputs: 3,
      go_fast: false,
      aspect_ratio: "16:9",
    });
    const numeric = toFieldDescriptors({ properties: { steps: { type: "integer", enum: [4, 8] } } });
    expect(toRequestBody(numeric, { steps: "8" })).toEqual({ steps: 8 });
  });

  it("sends files as their data URL, JSON fields parsed, and what does not parse as typed", () => {
    const speech = toFieldDescriptors(SPEECH_TO_TEXT);
    expect(toRequestBody(speech, { audio: "data:audio/wav;base64,AA==", word_timestamps: '["a"]', initial_prompt: "" })).toEqual({
      audio: "data:audio/wav;base64,AA==",
      word_timestamps: ["a"],
    });
    expect(toRequestBody(speech, { audio: null, word_timestamps: "[oops" })).toEqual({ word_timestamps: "[oops" });
    expect(toRequestBody(toFieldDescriptors(LLM), { temperature: "0.5", max_tokens: "1e3", prompt: "hi" })).toEqual({
      prompt: "hi",
      temperature: 0.5,
      max_tokens: 1000,
    });
  });
});

describe("fetchModelSchemas", () => {
  const answer = (status: number, body: unknown) => vi.fn(async () => Response.json(body, { status })) as unknown as typeof fetch;

  it("reads the schemas, sending the access key headers", async () => {
    const fetchImpl = answer(200, { input: TEXT_TO_IMAGE, output: null });
    expect(await fetchModelSchemas({ Authorization: "Bearer k" }, fetchImpl)).toEqual({
      kind: "ready",
      schemas: { input: TEXT_TO_IMAGE, output: null, simulator: null },
    });
    expect(vi.mocked(fetchImpl).mock.calls[0][1]?.headers).toMatchObject({ Authorization: "Bearer k" });
    const directives = [{ directive: "[fail]", effect: "the run fails" }];
    const simulated = answer(200, { input: TEXT_TO_IMAGE, output: null, simulator: { directives } });
    expect(await fetchModelSchemas({}, simulated)).toMatchObject({ kind: "ready", schemas: { simulator: { directives } } });
  });

  it("tells a missing key from a refused one, and names other failures", async () => {
    expect(await fetchModelSchemas({}, answer(401, { status: 401 }))).toEqual({ kind: "unauthorized", keyRefused: false });
    expect(await fetchModelSchemas({ Authorization: "Bearer k" }, answer(401, { status: 401 }))).toEqual({
      kind: "unauthorized",
      keyRefused: true,
    });
    expect(
      await fetchModelSchemas({}, answer(500, { title: "Server error", detail: "REPLICATE_API_TOKEN is not set", status: 500 })),
    ).toEqual({
      kind: "failed",
      message: "REPLICATE_API_TOKEN is not set",
    });
    expect((await fetchModelSchemas({}, answer(200, { nothing: true }))).kind).toBe("failed");
  });
});
