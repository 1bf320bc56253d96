// Every catalogue model, end to end in-process: the schema.ts `npm run model` writes for it, put in
// place of the app's (vi.doMock; the real file is never touched), gives the page its form through
// GET /api/ai/replicate/schema; the body that form sends goes through POST /api/ai/replicate to
// the simulated Replicate, and the answer's output shows as the model's kind (images, one image,
// streamed text, a transcript). The browser test (tests/e2e/any-model.e2e.test.ts) does the same
// for the language model and the fast text-to-image model in a real build.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { generateSchemaFile } from "@/dev/fit-model/generate";
import {
  cogOpenApiSchema,
  FAST_IMAGE_MODEL,
  IMAGE_EDIT_MODEL,
  IMAGE_MODEL,
  LANGUAGE_MODEL,
  simulatedModel,
  SPEECH_TO_TEXT_MODEL,
  type SimulatedModel,
} from "@/dev/simulator/models";
import { toFieldDescriptors, type FormValues, type ModelSchemas } from "@/lib/browser/form-schema";
import { toOutputView, type OutputView } from "@/lib/browser/output-view";
import { toRequestBody } from "@/lib/browser/request-body";
import { jsonPost, setEnv, TOKEN, useSimulatedReplicate } from "@/tests/support/route-env";
import { setEngineOptions, testRoutes } from "@/tests/support/test-engine";

const PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
const WAV = "data:audio/wav;base64,UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";
// Inside the project (git-ignored), so the generated file's `@/lib/server/image` resolves as in the app.
const GENERATED_DIR = path.resolve(__dirname, "../.tmp/fit-model-route");

const { sim } = useSimulatedReplicate();
afterAll(() => vi.doUnmock("@/app/api/ai/replicate/schema"));

/** The app's two routes, with the generated schema.ts of `model` in place of the committed one. */
async function routesFor(model: SimulatedModel) {
  const { source } = generateSchemaFile({
    model: `${model.owner}/${model.name}`,
    version: model.latest_version.id,
    openapiSchema: model.latest_version.openapi_schema,
  });
  mkdirSync(GENERATED_DIR, { recursive: true });
  const file = path.join(GENERATED_DIR, `${model.name}.ts`);
  writeFileSync(file, source);
  // The app's engine, given the generated file as its schema (what lib/replicate.ts passes it).
  const schema = await import(file);
  setEngineOptions({ schema: { ...schema, outputSchema: schema.outputSchema } });
  // Each call on the engine of the variables set then (the test sets the target after this).
  return { POST: (request: Request) => testRoutes().POST(request), GET: (request: Request) => testRoutes().schema(request) };
}

type Case = [string, SimulatedModel, FormValues, (view: OutputView, output: unknown) => void];

describe("the app fitted to each catalogue model by npm run model", () => {
  it.each<Case>([
    [
      "the seed's image model: one image",
      IMAGE_MODEL,
      { prompt: "a lighthouse", seed: "7", image: PNG },
      (view) => expect(view.files.map((file) => file.kind)).toEqual(["image"]),
    ],
    [
      "the fast text-to-image model: num_outputs images in output_format",
      FAST_IMAGE_MODEL,
      { prompt: "a lighthouse", num_outputs: "3", output_format: "jpg", go_fast: false },
      (view) => {
        expect(view.files.map((file) => file.kind)).toEqual(["image", "image", "image"]);
        expect(view.files.every((file) => file.url.endsWith(".jpg"))).toBe(true);
      },
    ],
    [
      "the image-to-image model: one image (not an array) from the picked image",
      IMAGE_EDIT_MODEL,
      { image: PNG, prompt: "make it night", strength: "0.5" },
      (view, output) => {
        expect(typeof output).toBe("string");
        expect(view.files.map((file) => file.kind)).toEqual(["image"]);
      },
    ],
    [
      "the language model: its tokens as one text",
      LANGUAGE_MODEL,
      { prompt: "tell me about lighthouses", max_tokens: "6" },
      (view) => expect(view).toEqual({ files: [], text: "Simulated reply to: tell me about", json: null }),
    ],
    [
      "the speech-to-text model: the transcript of the picked audio",
      SPEECH_TO_TEXT_MODEL,
      { audio: WAV, language: "fr" },
      (view) => expect(view.text).toMatch(/^Simulated transcript of 44 bytes of audio\/wav \(fr\)/),
    ],
  ])("%s", async (_name, model, values, expectOutput) => {
    const { POST, GET } = await routesFor(model);
    const target = `${model.owner}/${model.name}`;
    // Official models by name (REPLICATE_MODEL), the others by version, as npm run model says.
    setEnv(
      model.is_official
        ? { REPLICATE_MODEL: target }
        : { REPLICATE_MODEL: "", REPLICATE_MODEL_VERSION: `${target}:${model.latest_version.id}` },
    );

    const schemas = (await (await GET(new Request("http://localhost/api/ai/replicate/schema"))).json()) as ModelSchemas;
    const fields = toFieldDescriptors(schemas.input);
    const body = toRequestBody(fields, values);
    const response = await POST(jsonPost("http://localhost/api/ai/replicate", body));
    const text = await response.text();
    expect(text).not.toContain(TOKEN);
    const answer = JSON.parse(text) as { status: string; id: string; output: unknown };
    expect(response.status).toBe(200);
    expect(answer.status).toBe("succeeded");

    // The model got what the form set, files as data URLs, and nothing it left at its default.
    const sent = sim.get(answer.id)!.plan;
    expect(sent.model).toBe(target);
    expect(sent.input).toEqual(body);
    expect(Object.keys(body).sort()).toEqual(Object.keys(values).sort());
    expectOutput(toOutputView(answer.output, schemas.output), answer.output);
  });
});

// What Cog writes for a picky file input and a Secret, on a model outside the catalogue.
const PRIVATE_MODEL = simulatedModel(
  { owner: "acme", name: "private-captioner", description: "Captions PNG and JPEG images with a paid API." },
  {
    id: "e".repeat(64),
    created_at: "2026-07-01T00:00:00Z",
    cog_version: "0.16.2",
    openapi_schema: cogOpenApiSchema({
      required: ["image", "api_key", "prompt"],
      input: {
        image: { type: "string", format: "uri", "x-cog-accept": ["image/png", "image/jpeg"], "x-order": 0 },
        api_key: { type: "string", format: "password", writeOnly: true, "x-cog-secret": true, "x-order": 1 },
        prompt: { type: "string", "x-order": 2 },
      },
      output: { type: "string" },
    }),
  },
);

describe("a model with Cog's x-cog-accept and a secret input", () => {
  it("offers only the accepted types, draws a password field, and keeps the secret out of the route's log", async () => {
    const { POST, GET } = await routesFor(PRIVATE_MODEL);
    setEnv({ REPLICATE_MODEL: "", REPLICATE_MODEL_VERSION: `acme/private-captioner:${PRIVATE_MODEL.latest_version.id}` });
    const schemas = (await (await GET(new Request("http://localhost/api/ai/replicate/schema"))).json()) as ModelSchemas;
    const [image, apiKey, prompt] = toFieldDescriptors(schemas.input);
    expect(image).toMatchObject({ name: "image", kind: "file", accept: "image/png,image/jpeg" });
    expect(apiKey).toMatchObject({ name: "api_key", kind: "text", secret: true, required: true });

    const logged: string[] = [];
    const capture = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
    const spies = (["log", "error", "warn"] as const).map((level) => vi.spyOn(console, level).mockImplementation(capture));
    try {
      const body = toRequestBody([image, apiKey, prompt], { image: PNG, api_key: "sk-live-3f9a2c", prompt: "a caption" });
      const response = await POST(jsonPost("http://localhost/api/ai/replicate", body));
      expect(response.status).toBe(200);
      const sent = sim.get(((await response.json()) as { id: string }).id)!.plan;
      expect(sent.input).toMatchObject({ api_key: "sk-live-3f9a2c" });
      // A refused body names the field, not its value.
      const refused = await POST(
        jsonPost("http://localhost/api/ai/replicate", { image: PNG, api_key: 42, prompt: "p", extra: "sk-live-3f9a2c" }),
      );
      expect(refused.status).toBe(400);
      expect(await refused.text()).not.toContain("sk-live");
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.join("\n")).not.toContain("sk-live");
  });
});
