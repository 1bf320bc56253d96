import { describe, expect, it, vi } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import type { ReplicateCall } from "@/lib/server/replicate/transport";
import { readSseEvents, type SseEvent } from "@/lib/shared/sse";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { settle, useFakeClock } from "@/tests/support/fake-clock";

/**
 * A model that boots cold is silent for minutes: its stream sends nothing until the first token.
 * The live view keeps reading it (bounded by the cap), so the tokens still arrive as they are made.
 */
const streamCalls = vi.hoisted(() => [] as { timeoutMs?: number }[]);
vi.mock("@/lib/server/replicate/transport", async (original) => {
  const transport = await original<typeof import("@/lib/server/replicate/transport")>();
  return {
    ...transport,
    callReplicate: (config: Parameters<typeof transport.callReplicate>[0], call: ReplicateCall) => {
      if (call.stream) streamCalls.push({ timeoutMs: call.timeoutMs });
      return transport.callReplicate(config, call);
    },
  };
});

const { sim } = useSimulatedReplicate({ bootMs: 90_000, runMs: 200 });
useFakeClock();

async function events(response: Response): Promise<SseEvent[]> {
  const all: SseEvent[] = [];
  for await (const event of readSseEvents(response.body!)) all.push(event);
  return all;
}

describe("the live view through a cold boot", () => {
  it("reads a stream silent for 90 s of boot, once, and passes on its tokens", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "300", REPLICATE_POLL_INTERVAL_MS: "1000" });
    const response = await settle(
      POST(
        jsonPost(
          "http://localhost/api/ai/replicate",
          { prompt: "[text] a cold model" },
          { headers: { accept: "text/event-stream" } },
        ),
      ),
    );
    const all = await settle(events(response), 200_000);
    const done = JSON.parse(all.at(-1)!.data);
    expect(done.status).toBe("succeeded");
    const outputs = all.filter((e) => e.event === "output").map((e) => JSON.parse(e.data).output);
    expect(outputs.length).toBeGreaterThan(1);
    expect(outputs.at(-1)).toBe((done.output as string[]).join(""));
    // One stream for the whole run, allowed to be silent as long as the cap.
    expect(sim.count("stream")).toBe(1);
    expect(streamCalls).toHaveLength(1);
    expect(streamCalls[0].timeoutMs).toBeGreaterThanOrEqual(300_000);
  });
});
