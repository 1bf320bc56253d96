/**
 * keepOutputs on what the route answers, against the simulated Replicate behind msw, configured
 * only from the environment: the simulator's file host counts as a file host because
 * REPLICATE_API_BASE_URL points at it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { keepOutputs } from "@/lib/server/storage/keep-outputs";
import { serveKeptOutput } from "@/lib/server/storage/serve-output";
import type { Prediction } from "@/lib/shared/prediction";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

const { sim } = useSimulatedReplicate();
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keep-sim-"));
  setEnv({ OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: dir });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const name of ["OUTPUT_STORAGE", "OUTPUT_STORAGE_DIR"]) delete process.env[name];
});

describe("the simulated model's outputs are kept", () => {
  it("with the defaults: its files are fetched without the token and served by the app", async () => {
    const response = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "a lighthouse", seed: 7 }));
    const prediction = (await response.json()) as Prediction;
    expect(prediction.status).toBe("succeeded");
    const [original] = prediction.output as string[];

    const kept = await keepOutputs(prediction);
    expect(kept.outputs_kept).toBe(true);
    expect(kept.replicate_output).toEqual([original]);
    const [url] = kept.output as string[];
    const served = await serveKeptOutput(new Request(`http://localhost${url}`), url.split("/").at(-1)!);
    expect(served.headers.get("content-type")).toContain("image/svg+xml");
    const fromReplicate = await fetch(original);
    expect(await served.text()).toBe(await fromReplicate.text());

    const fileRequests = sim.requests.filter((request) => request.kind === "file");
    expect(fileRequests.length).toBeGreaterThan(0);
    for (const request of fileRequests) expect(request.headers.authorization).toBeUndefined();
  });
});
