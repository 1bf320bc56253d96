import { beforeEach, describe, expect, it } from "vitest";
import { GET } from "@/app/api/ai/replicate/schema/route";
import { toFieldDescriptors, type ModelSchemas } from "@/lib/browser/form-schema";
import { ROUTE_KEY, setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { setEnv } from "@/tests/support/route-env";

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
    expect(input.properties?.style).toMatchObject({ type: "string", "x-presets": ["photographic", "anime", "watercolor", "pixel-art"] });
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
