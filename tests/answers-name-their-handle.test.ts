/**
 * Every answer names its prediction's handle, so a caller can read it again (a lost answer, kept
 * outputs still to copy): sync JSON answers carry `Content-Location`, as the `202` carries
 * `Location`; an event stream carries it in its headers and in its first event.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { readSseEvents } from "@/lib/shared/sse";
import { handleOf, jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 20 });
const ROUTE = "http://localhost/api/ai/replicate";
const post = (body: unknown, headers: Record<string, string> = {}) => POST(jsonPost(ROUTE, body, { headers }));
const onlyId = () => [...sim.predictions.keys()][0];

describe("every answer names its prediction's handle", () => {
  it("a sync JSON answer carries Content-Location: /api/ai/replicate/{handle}", async () => {
    const response = await post({ prompt: "p" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-location")).toBe(`/api/ai/replicate/${handleOf(onlyId())}`);
  });

  it("so does a timed-out one (500), which names the canceled prediction", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "0.2" });
    const response = await post({ prompt: "[never] p" });
    expect(response.status).toBe(500);
    expect(response.headers.get("content-location")).toBe(`/api/ai/replicate/${handleOf(onlyId())}`);
  });

  it("an event stream carries it in its headers and its first event", async () => {
    const response = await post({ prompt: "p" }, { accept: "text/event-stream" });
    const location = `/api/ai/replicate/${handleOf(onlyId())}`;
    expect(response.headers.get("content-location")).toBe(location);
    const events = [];
    for await (const event of readSseEvents(response.body!)) events.push(event);
    expect(JSON.parse(events[0].data)).toMatchObject({ id: onlyId(), location });
    expect(events.at(-1)!.event).toBe("done");
  });

  it("a repeat with the same Idempotency-Key names the same handle", async () => {
    const key = `"${randomUUID()}"`;
    const first = await post({ prompt: "p" }, { "idempotency-key": key });
    const again = await post({ prompt: "p" }, { "idempotency-key": key });
    expect(again.headers.get("content-location")).toBe(first.headers.get("content-location"));
    expect(again.headers.get("content-location")).toBe(`/api/ai/replicate/${handleOf(onlyId())}`);
  });
});
