import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { useGuardEnv } from "@/tests/support/guard-env";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

const { sim } = useSimulatedReplicate();
useGuardEnv();
const URL = "http://app.test/api/ai/replicate";

const PATHS = {
  json: {},
  stream: { accept: "text/event-stream" },
  async: { prefer: "respond-async" },
} satisfies Record<string, Record<string, string>>;

/** A body sent as a stream, so no Content-Length announces its size. */
function chunked(text: string, headers: Record<string, string>) {
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 256) controller.enqueue(bytes.slice(i, i + 256));
      controller.close();
    },
  });
  return new Request(URL, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    duplex: "half",
  } as RequestInit);
}

async function expectProblem(response: Response, status: number, field?: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/application\/json/);
  const body = await response.json();
  expect(body).toMatchObject({ title: expect.any(String), detail: expect.any(String), status });
  if (field) expect(body.invalid_fields.map((f: { field: string }) => f.field)).toContain(field);
}

describe.each(Object.entries(PATHS))("body and image limits on the %s path", (_path, headers) => {
  it("answers 413 past REPLICATE_MAX_BODY_BYTES, announced or not, before Replicate is called", async () => {
    setEnv({ REPLICATE_MAX_BODY_BYTES: "1000" });
    const big = JSON.stringify({ prompt: "x".repeat(2000) });
    await expectProblem(await POST(jsonPost(URL, undefined, { raw: big, headers })), 413);
    await expectProblem(await POST(chunked(big, headers)), 413);
    expect(sim.requests).toHaveLength(0);
  });

  it("refuses an image that is not valid base64 or not an image, as JSON", async () => {
    await expectProblem(await POST(jsonPost(URL, { prompt: "p", image: "bm90IGFuIGltYWdl!" }, { headers })), 400, "image");
    await expectProblem(
      await POST(jsonPost(URL, { prompt: "p", image: "data:text/plain;base64,aGk=" }, { headers })),
      400,
      "image",
    );
    expect(sim.requests).toHaveLength(0);
  });
});
