import { describe, expect, it } from "vitest";
import { requestBodySchema, toModelInput } from "@/app/api/ai/replicate/schema";
import { readJsonBody } from "@/lib/server/http/read-json-body";
import { Problem } from "@/lib/server/problem";
import { parseOrProblem } from "@/lib/server/validation";

const PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

async function problemFrom(run: () => unknown): Promise<Problem> {
  try {
    await run();
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error("expected a problem");
}

function streamedRequest(chunks: Uint8Array[], headers: Record<string, string> = {}): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  return new Request("http://localhost/api", { method: "POST", body, headers, duplex: "half" } as RequestInit);
}

describe("reading the body", () => {
  it("parses JSON", async () => {
    const request = new Request("http://localhost/api", { method: "POST", body: '{"prompt":"a cat"}' });
    expect(await readJsonBody(request, 1000)).toEqual({ prompt: "a cat" });
  });

  it("answers 413 when Content-Length announces too much, before reading", async () => {
    const request = streamedRequest([new Uint8Array(10)], { "content-length": "5000" });
    expect((await problemFrom(() => readJsonBody(request, 1000))).status).toBe(413);
  });

  it("counts streamed bytes without Content-Length and stops at the limit", async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(400));
        if (pulled > 1000) controller.close();
      },
    });
    const request = new Request("http://localhost/api", { method: "POST", body, duplex: "half" } as RequestInit);
    const problem = await problemFrom(() => readJsonBody(request, 1000));
    expect(problem.status).toBe(413);
    expect(problem.toJSON()).toMatchObject({ title: expect.any(String), detail: expect.stringContaining("1000"), status: 413 });
    expect(pulled).toBeLessThan(10);
  });

  it.each([
    ["not JSON", [new TextEncoder().encode("prompt=a cat")], "not valid JSON"],
    ["broken UTF-8", [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])], "UTF-8"],
    ["empty", [], "empty"],
  ])("answers 400 for a body that is %s", async (_name, chunks, words) => {
    const problem = await problemFrom(() => readJsonBody(streamedRequest(chunks), 1000));
    expect(problem.status).toBe(400);
    expect(problem.detail).toContain(words);
    expect(problem.toJSON().invalid_fields).toEqual([{ field: "body", description: problem.detail }]);
  });
});

describe("the request body schema and the model's input", () => {
  const parse = (body: unknown) => toModelInput(parseOrProblem(requestBodySchema, body));

  it("maps exactly the fields sent, absent ones omitted, nothing added", () => {
    expect(parse({ prompt: "a cat" })).toEqual({ prompt: "a cat" });
    expect(parse({ prompt: "a cat", seed: 0, style: "anime" })).toEqual({ prompt: "a cat", seed: 0, style: "anime" });
  });

  it("sends raw base64 as a data URL with the sniffed type, and a data URL unchanged", () => {
    expect(parse({ prompt: "p", image: PNG_BASE64 }).image).toBe(`data:image/png;base64,${PNG_BASE64}`);
    const dataUrl = `data:image/png;base64,${PNG_BASE64}`;
    expect(parse({ prompt: "p", image: dataUrl }).image).toBe(dataUrl);
  });

  it.each([
    [{}, "prompt"],
    [{ prompt: "   " }, "prompt"],
    [{ prompt: 42 }, "prompt"],
    [{ prompt: "p", seed: -1 }, "seed"],
    [{ prompt: "p", seed: 1.5 }, "seed"],
    [{ prompt: "p", seed: "7" }, "seed"],
    [{ prompt: "p", style: ["a"] }, "style"],
    [{ prompt: "p", image: "not base64!" }, "image"],
    [{ prompt: "p", promt: "typo" }, "promt"],
  ])("rejects %j naming %s", async (body, field) => {
    const problem = await problemFrom(() => parse(body));
    expect(problem.status).toBe(400);
    const fields = (problem.toJSON().invalid_fields as { field: string }[]).map((f) => f.field);
    expect(fields).toContain(field);
  });

  it("names every bad field at once", async () => {
    const problem = await problemFrom(() => parse({ seed: -2, extra: true }));
    const fields = (problem.toJSON().invalid_fields as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(["extra", "prompt", "seed"]);
  });

  it("answers a missing required field as required, and a misspelt one as unknown", async () => {
    const problem = await problemFrom(() => parse({ promt: "typo" }));
    expect(problem.toJSON().invalid_fields).toEqual([
      { field: "prompt", description: "is required" },
      { field: "promt", description: "is not a known field" },
    ]);
    // Present but of the wrong type keeps the schema's own words.
    const wrongType = await problemFrom(() => parse({ prompt: 42 }));
    expect(wrongType.toJSON().invalid_fields).toEqual([{ field: "prompt", description: "must be a string" }]);
  });

  it("rejects a body that is not an object", async () => {
    for (const body of [null, [], "prompt", 3]) {
      const problem = await problemFrom(() => parse(body));
      expect(problem.toJSON().invalid_fields).toEqual([{ field: "body", description: "must be a JSON object" }]);
    }
  });

  it("rejects prototype-pollution keys as unknown fields", async () => {
    const problem = await problemFrom(() => parse(JSON.parse('{"prompt":"p","__proto__":{"admin":true}}')));
    expect((problem.toJSON().invalid_fields as { field: string }[]).map((f) => f.field)).toContain("__proto__");
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
