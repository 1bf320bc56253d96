import { describe, expect, it, vi } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { renderSeedPng } from "@/dev/simulator/png-image";
import { toRequestBody, toWireBody } from "@/lib/browser/request-body";
import { postRun } from "@/lib/browser/route-calls";
import { asSeedBody, SEED_FIELDS, seedBody } from "@/tests/support/seed-form";
import { useSimulatedReplicate } from "@/tests/support/route-env";

/** The page sends the picked file as a file part of a multipart body, which the route takes as the image. */
const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 20 });
const PNG = Buffer.from(renderSeedPng(9));
const picked = new File([PNG], "cat.png", { type: "image/png" });
const DATA_URL = `data:image/png;base64,${PNG.toString("base64")}`;

describe("the page's body with a picked file", () => {
  it("carries the file itself, not its data URL, when the picked file is given", () => {
    const values = { prompt: "p", seed: "4", image: DATA_URL };
    expect(toRequestBody(SEED_FIELDS, values, { image: picked })).toEqual({ prompt: "p", seed: 4, image: picked });
    // Without it (the curl command), the data URL; a removed file is not sent even if still held.
    expect(asSeedBody(toRequestBody(SEED_FIELDS, values)).image).toBe(DATA_URL);
    expect(asSeedBody(toRequestBody(SEED_FIELDS, { prompt: "p", image: null }, { image: picked })).image).toBeUndefined();
  });

  it("goes as JSON without a file and as multipart with one", () => {
    expect(toWireBody(seedBody({ prompt: "p", seed: 4 }))).toEqual({
      body: '{"prompt":"p","seed":4}',
      contentType: "application/json",
    });
    const wire = toWireBody(seedBody({ prompt: "p", seed: 4, image: picked }));
    expect(wire.contentType).toBeUndefined();
    const form = wire.body as FormData;
    expect(form.get("seed")).toBe("4");
    expect((form.get("image") as File).name).toBe("cat.png");
  });

  it("is accepted by the route: postRun's multipart request creates the prediction with the image", async () => {
    const fetch = vi.fn<typeof globalThis.fetch>(async (url, init) =>
      POST(new Request(new URL(String(url), "http://localhost"), init)),
    );
    const answer = await postRun(seedBody({ prompt: "a cat", seed: 4, image: picked }), { fetch });
    expect(answer.httpStatus).toBe(202);
    const [prediction] = sim.predictions.values();
    expect(prediction.plan.input).toEqual({ prompt: "a cat", seed: 4, image: DATA_URL });
  });
});
