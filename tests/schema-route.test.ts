import { beforeEach, describe, expect, it } from "vitest";
import { GET } from "@/app/api/ai/replicate/schema/route";
import { toFieldDescriptors, type ModelSchemas } from "@/lib/browser/form-schema";
import { ROUTE_KEY, setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { setEnv } from "@/tests/support/route-env";
import { parseDirectives } from "@/dev/simulator/prompt-directives";
import { DEFAULT_TOKEN } from "@/dev/simulator/simulated-replicate";
import { PROMPT_DIRECTIVES, SIMULATED_REPLICATE_TOKEN } from "@/lib/shared/simulator";

const logs = useGuardEnv();
beforeEach(() => setEnv());

const get = (headers: Record<string, string> = {}) =>
  GET(new Request("http://app.test/api/ai/replicate/schema", { headers: { host: "app.test", ...headers } }));

describe("GET /api/ai/replicate/schema", () => {
  it("answers the request body's JSON Schema (input side) and the model's output schema", async () => {
    const response = await get();
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("private, max-age=60");
    const { input, output } = (await response.json()) as ModelSchemas;
    expect(input).toMatchObject({ type: "object", required: ["prompt"], additionalProperties: false });
    expect(Object.keys(input.properties ?? {})).toEqual(["prompt", "seed", "style", "image"]);
    expect(input.properties?.seed).toMatchObject({ type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
    // The transform's input side: a string, marked as a file picker for images.
    expect(input.properties?.image).toMatchObject({ type: "string", format: "uri", "x-file": "image/*" });
    expect(input.properties?.style).toMatchObject({
      type: "string",
      "x-presets": ["photographic", "anime", "watercolor", "pixel-art"],
    });
    expect(output).toEqual({ type: "array", items: { type: "string", format: "uri" } });
  });

  it("gives the seed's page its form: prompt textarea, seed, style presets, image picker", async () => {
    const { input } = (await (await get()).json()) as ModelSchemas;
    expect(toFieldDescriptors(input).map((field) => [field.name, field.kind, field.required])).toEqual([
      ["prompt", "textarea", true],
      ["seed", "number", false],
      ["style", "select", false],
      ["image", "file", false],
    ]);
  });

  it("answers 401 problem JSON without the key when ROUTE_API_KEY is set, and the schema with it", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    const refused = await get();
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
    const text = await refused.text();
    expect(JSON.parse(text)).toMatchObject({ status: 401, title: expect.any(String), detail: expect.any(String) });
    expect(text).not.toContain("properties");
    expect((await get({ authorization: `Bearer ${ROUTE_KEY}` })).status).toBe(200);
    expect(logs.requests().map((record) => [record.route, record.status])).toEqual([
      ["GET /api/ai/replicate/schema", 401],
      ["GET /api/ai/replicate/schema", 200],
    ]);
  });
});

describe("the schema route says when the app talks to the simulated Replicate", () => {
  it("answers the prompt directives with the simulator's token off Replicate's host, null otherwise, never the token", async () => {
    setEnv({ REPLICATE_API_TOKEN: SIMULATED_REPLICATE_TOKEN, REPLICATE_API_BASE_URL: "http://127.0.0.1:4010/v1" });
    const text = await (await get()).text();
    expect(JSON.parse(text).simulator).toEqual({ directives: PROMPT_DIRECTIVES });
    expect(text).not.toContain(SIMULATED_REPLICATE_TOKEN);

    setEnv({ REPLICATE_API_TOKEN: SIMULATED_REPLICATE_TOKEN, REPLICATE_API_BASE_URL: "https://api.replicate.com/v1" });
    expect((await (await get()).json()).simulator).toBeNull();
    setEnv();
    expect((await (await get()).json()).simulator).toBeNull();
  });

  it("lists every directive the simulator reads, each one it reads", () => {
    for (const { directive } of PROMPT_DIRECTIVES) {
      const read = parseDirectives(directive);
      const steered = [read.fail, read.never, read.text, read.refiner, read.runMs !== null, read.bootMs !== null].filter(Boolean);
      expect(steered, directive).toHaveLength(1);
    }
    const all = parseDirectives(PROMPT_DIRECTIVES.map(({ directive }) => directive).join(" "));
    expect(all).toEqual({ fail: true, never: true, text: true, refiner: true, runMs: 4000, bootMs: 800 });
    expect(SIMULATED_REPLICATE_TOKEN).toBe(DEFAULT_TOKEN);
  });
});
