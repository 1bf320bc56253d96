/**
 * Issue 14, outputs: the webhook path keeps a succeeded prediction's outputs after it acknowledges,
 * and a GET of a prediction whose data Replicate removed (the simulator's retention, made short
 * here) answers the kept copies. Input files are deleted when the webhook or the GET sees the end.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { http } from "msw";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { GET } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { POST as webhook } from "@/app/api/ai/replicate/webhook/route";
import { seedPngDataUrl } from "@/dev/simulator/png-image";
import { settleAfterAnswer } from "@/lib/server/after-answer";
import type { KeptPrediction } from "@/lib/server/storage/keep-outputs";
import { handleOf, jsonPost, setEnv, until, useSimulatedReplicate, setVariables } from "@/tests/support/route-env";
import { deliveredStore } from "@/tests/support/test-engine";

const APP = "http://app.test";
const { sim, server } = useSimulatedReplicate({ bootMs: 5, runMs: 20, retentionMs: 150 });
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keep-webhook-"));
  setEnv({ OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: dir });
  deliveredStore().clear();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  setVariables({ OUTPUT_STORAGE: undefined, OUTPUT_STORAGE_DIR: undefined });
});

const start = (body: Record<string, unknown>) =>
  POST(jsonPost(`${APP}/api/ai/replicate`, body, { headers: { prefer: "respond-async" } }));
const lookup = async (id: string) =>
  (await (
    await GET(new Request(`${APP}/api/ai/replicate/${handleOf(id)}`), { params: Promise.resolve({ id: handleOf(id) }) })
  ).json()) as KeptPrediction;

describe("kept outputs outlive Replicate's copy", () => {
  it("a GET after Replicate removed the data answers the copies a first GET kept", async () => {
    const { id } = await (await start({ prompt: "p", seed: 3 })).json();
    await until(() => sim.get(id)!.status() === "succeeded");
    const first = await lookup(id);
    expect(first.outputs_kept).toBe(true);
    await until(() => sim.get(id)!.isDataRemoved());
    const later = await lookup(id);
    expect(later.data_removed).toBe(true);
    expect(later.replicate_output).toBeNull();
    expect(later).toMatchObject({ status: "succeeded", outputs_kept: true, output: first.output });
  });

  it("says the outputs were not kept when nobody saw the prediction before its data was removed", async () => {
    const { id } = await (await start({ prompt: "p" })).json();
    await until(() => sim.get(id)!.isDataRemoved());
    const answer = await lookup(id);
    expect(answer).toMatchObject({ status: "succeeded", outputs_kept: false, output: null });
    expect(answer.outputs_kept_error).toContain("removed");
  });

  it("the webhook keeps them after acknowledging, and deletes the input files", async () => {
    setEnv({ OUTPUT_STORAGE: "fs", OUTPUT_STORAGE_DIR: dir, REPLICATE_WEBHOOK_URL: APP, REPLICATE_WEBHOOK_SECRET: "" });
    server.use(http.post(`${APP}/api/ai/replicate/webhook`, ({ request }) => webhook(request)));
    const { id } = await (await start({ prompt: "p", image: seedPngDataUrl(2, 300 * 1024) })).json();
    const [file] = sim.files.files.values();
    await until(() => sim.webhookDeliveries.some((d) => d.event === "completed" && d.status === 200));
    // Kept after the answer: the manifest is there once the work after it has ended.
    await settleAfterAnswer();
    expect(existsSync(join(dir, id, "manifest.json"))).toBe(true);
    expect(file.deleted).toBe(true);
    // Nobody asked Replicate for the prediction: the delivery carried all of it.
    expect(sim.count("get")).toBe(0);
    await until(() => sim.get(id)!.isDataRemoved());
    expect(await lookup(id)).toMatchObject({ outputs_kept: true });
  });
});
