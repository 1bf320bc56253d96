/**
 * keepOutputs on what the route answers, against the simulated Replicate behind msw, configured
 * only from the environment: the simulator's file host counts as a file host because
 * REPLICATE_API_BASE_URL points at it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { GET } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { readSseEvents } from "@/lib/shared/sse";
import { keepOutputs, type KeptPrediction } from "@/lib/server/storage/keep-outputs";
import { serveKeptOutput } from "@/lib/server/storage/serve-output";
import { jsonPost, setEnv, testEngine, until, useSimulatedReplicate, setVariables } from "@/tests/support/route-env";

const { sim } = useSimulatedReplicate();
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keep-sim-"));
  setEnv({ OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: dir });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  setVariables({ OUTPUT_STORAGE: undefined, OUTPUT_STORAGE_DIR: undefined });
});

describe("the simulated model's outputs are kept", () => {
  it("with the defaults: its files are fetched without the token and served by the app", async () => {
    const response = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "a lighthouse", seed: 7 }));
    // The route's own answer carries the kept copies, Replicate's originals beside them.
    const kept = (await response.json()) as KeptPrediction;
    expect(kept.status).toBe("succeeded");
    expect(kept.outputs_kept).toBe(true);
    const [original] = kept.replicate_output as string[];
    expect(original).toMatch(/^https:\/\/api\.replicate\.test\/files\//);
    const [url] = kept.output as string[];
    const served = await serveKeptOutput(
      new Request(`http://localhost${url}`),
      url.split("/").at(-1)!,
      testEngine().outputStorage(),
    );
    expect(served.headers.get("content-type")).toContain("image/svg+xml");
    const fromReplicate = await fetch(original);
    expect(await served.text()).toBe(await fromReplicate.text());

    const fileRequests = sim.requests.filter((request) => request.kind === "file");
    expect(fileRequests.length).toBeGreaterThan(0);
    for (const request of fileRequests) expect(request.headers.authorization).toBeUndefined();

    // Asking again answers the same kept copies, without copying again.
    const again = await keepOutputs({ ...kept, output: kept.replicate_output }, { storage: testEngine().outputStorage });
    expect(again.output).toEqual(kept.output);
    expect(sim.requests.filter((request) => request.kind === "file")).toHaveLength(fileRequests.length);
  });

  it("by the GET of a prediction too, and by the stream's done event", async () => {
    const started = await POST(
      jsonPost("http://localhost/api/ai/replicate", { prompt: "p" }, { headers: { prefer: "respond-async" } }),
    );
    const handle = started.headers.get("location")!.split("/").at(-1)!;
    const id = handle.split(".")[0];
    await until(() => sim.get(id)!.status() === "succeeded");
    const answer = (await (
      await GET(new Request(`http://localhost/api/ai/replicate/${handle}`), { params: Promise.resolve({ id: handle }) })
    ).json()) as KeptPrediction;
    expect(answer).toMatchObject({ status: "succeeded", outputs_kept: true });
    expect((answer.output as string[])[0]).toMatch(/^\/api\/ai\/replicate\/outputs\//);

    const stream = await POST(
      jsonPost("http://localhost/api/ai/replicate", { prompt: "p" }, { headers: { accept: "text/event-stream" } }),
    );
    let done: KeptPrediction | undefined;
    for await (const event of readSseEvents(stream.body!)) if (event.event === "done") done = JSON.parse(event.data);
    expect(done).toMatchObject({ status: "succeeded", outputs_kept: true });
  });
});
