import { describe, expect, it } from "vitest";
import { GET } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { seedPngDataUrl } from "@/dev/simulator/png-image";
import { BASE, handleOf, jsonPost, setEnv, until, useSimulatedReplicate, variable } from "@/tests/support/route-env";

/**
 * Issue 14, inputs: an image above REPLICATE_INLINE_MAX_BYTES goes through the Files API (the
 * simulated one), the model gets its URL, and the file is deleted once the prediction has ended.
 */
const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 20 });
const ROUTE = "http://localhost/api/ai/replicate";
const LARGE = seedPngDataUrl(7, 300 * 1024);
const SMALL = seedPngDataUrl(7, 10 * 1024);

function onlyPrediction() {
  const predictions = [...sim.predictions.values()];
  expect(predictions).toHaveLength(1);
  return predictions[0];
}

const uploaded = () => [...sim.files.files.values()];

describe("your files only", () => {
  it("refuses another caller's Files API URL with a 400 naming the field: nothing is created, that file is never deleted", async () => {
    // A uploads a large image; its file lives while A's prediction runs.
    const a = POST(jsonPost(ROUTE, { prompt: "[run:200] a", image: LARGE }));
    await until(() => uploaded().length === 1);
    const [file] = uploaded();
    for (const url of [
      `${BASE}/files/${file.id}`,
      `${BASE.replace("api.", "API.")}/files/${file.id}?x=1`,
      `${new URL(BASE).origin}/v1/files/${file.id}/download`,
    ]) {
      const b = await POST(jsonPost(ROUTE, { prompt: "b", image: url }));
      expect(b.status).toBe(400);
      expect(await b.json()).toMatchObject({ title: "Invalid input", invalid_fields: [{ field: "image" }] });
    }
    expect(sim.predictions.size).toBe(1);
    expect(file.deleted).toBe(false);
    expect((await a).status).toBe(200);
    // A's own file is deleted once A's prediction has ended.
    await until(() => file.deleted);
  });
});

describe("file inputs and the inline limit", () => {
  it("keeps an image at or below the limit inline as a data URL, with no upload", async () => {
    const response = await POST(jsonPost(ROUTE, { prompt: "small", image: SMALL }));
    expect(response.status).toBe(200);
    expect(onlyPrediction().plan.input.image).toBe(SMALL);
    expect(sim.count("files")).toBe(0);
  });

  it("uploads an image above the limit, gives the model its urls.get, and the model reads the bytes", async () => {
    const response = await POST(jsonPost(ROUTE, { prompt: "large", image: LARGE }));
    expect(response.status).toBe(200);
    const [file] = uploaded();
    expect(file.content.byteLength).toBe(Buffer.from(LARGE.split(",")[1], "base64").byteLength);
    expect(Buffer.from(file.content).toString("base64")).toBe(LARGE.split(",")[1]);
    expect(file.contentType).toBe("image/png");
    const prediction = onlyPrediction();
    expect(prediction.plan.input.image).toBe(`${BASE}/files/${file.id}`);
    expect(sim.files.readByModel.get(prediction.id)?.image).toBe(LARGE);
    // Deleted in the background once the answer has the ended prediction.
    await until(() => file.deleted);
  });

  it("follows REPLICATE_INLINE_MAX_BYTES: a 0 limit uploads even a small image", async () => {
    setEnv({ REPLICATE_INLINE_MAX_BYTES: "0" });
    expect((await POST(jsonPost(ROUTE, { prompt: "small", image: SMALL }))).status).toBe(200);
    expect(uploaded()).toHaveLength(1);
    await until(() => uploaded()[0].deleted);
  });

  it("answers a clear problem when the upload fails, and creates no prediction", async () => {
    sim.failNext("files", "500");
    const response = await POST(jsonPost(ROUTE, { prompt: "large", image: LARGE }));
    expect(response.status).toBe(502);
    const body = await response.json();
    expect(body).toMatchObject({ title: "Input file not uploaded", status: 502 });
    expect(body.detail).toContain("`image`");
    expect(body.detail).toContain("no prediction was created");
    expect(sim.count("create")).toBe(0);
    // Not idempotent: a 500 is not retried (a second file could be left on the account).
    expect(sim.requests.filter((r) => r.kind === "files")).toHaveLength(1);
  });

  it("retries an upload only after a 429, sending the whole file again", async () => {
    sim.failNext("files", "429", { retryAfterSeconds: 0 });
    const response = await POST(jsonPost(ROUTE, { prompt: "large", image: LARGE }));
    expect(response.status).toBe(200);
    expect(sim.requests.filter((r) => r.kind === "files" && r.method === "POST").map((r) => r.status)).toEqual([429, 201]);
    expect(uploaded()).toHaveLength(1);
    expect(sim.files.readByModel.get(onlyPrediction().id)?.image).toBe(LARGE);
  });

  it("deletes the file after an event-stream run too", async () => {
    const response = await POST(jsonPost(ROUTE, { prompt: "large", image: LARGE }, { headers: { accept: "text/event-stream" } }));
    const text = await response.text();
    expect(text).toContain("event: done");
    const [file] = uploaded();
    expect(onlyPrediction().plan.input.image).toBe(`${BASE}/files/${file.id}`);
    await until(() => file.deleted);
  });

  it("deletes the file when the create fails", async () => {
    sim.failNext("create", "503");
    const response = await POST(jsonPost(ROUTE, { prompt: "large", image: LARGE }));
    expect(response.status).toBeGreaterThanOrEqual(500);
    const [file] = uploaded();
    await until(() => file.deleted);
  });

  it("async mode: the file stays while the prediction runs and is deleted by the GET that sees it end", async () => {
    const response = await POST(
      jsonPost(ROUTE, { prompt: "[never] large", image: LARGE }, { headers: { prefer: "respond-async" } }),
    );
    expect(response.status).toBe(202);
    const { id } = await response.json();
    const [file] = uploaded();
    const get = () => GET(new Request(`${ROUTE}/${handleOf(id)}`), { params: Promise.resolve({ id: handleOf(id) }) });
    expect((await get()).status).toBe(202);
    expect(file.deleted).toBe(false);
    sim.finish(id, "succeeded");
    // A status read is shared for one poll interval: the GET sees the end at the latest one interval later.
    let status = 202;
    for (let tries = 0; status !== 200 && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      status = (await get()).status;
    }
    expect(status).toBe(200);
    await until(() => file.deleted);
  });
});

describe("the simulated Files API's account rule", () => {
  const create = (image: string) =>
    fetch(`${BASE}/models/owner/model/predictions`, {
      method: "POST",
      headers: { authorization: `Bearer ${variable("REPLICATE_API_TOKEN")}`, "content-type": "application/json" },
      body: JSON.stringify({ input: { prompt: "x", image } }),
    });

  it.each([
    ["another account's", () => sim.files.add({ account: "someone-else", content: new Uint8Array([1, 2, 3]) })],
    ["a deleted", () => Object.assign(sim.files.add({ content: new Uint8Array([1]) }), { deleted: true })],
    ["an expired", () => sim.files.add({ content: new Uint8Array([1]), expiresAt: Date.now() - 1 })],
  ])("refuses a create whose input names %s file with 422", async (_, make) => {
    const file = make();
    const refused = await create(`${BASE}/files/${file.id}`);
    expect(refused.status).toBe(422);
    expect((await refused.json()).detail).toContain(file.id);
    expect(sim.count("create")).toBe(1);
    expect(sim.predictions.size).toBe(0);
  });

  it("accepts this account's live file", async () => {
    const file = sim.files.add({ content: new Uint8Array([1]) });
    expect((await create(`${BASE}/files/${file.id}`)).status).toBe(201);
  });
});
