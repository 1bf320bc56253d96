import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { readSseEvents } from "@/lib/shared/sse";
import { useGuardEnv } from "@/tests/support/guard-env";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

/**
 * In sync mode Replicate may answer file outputs as `data:` URLs of hundreds of KB (the simulator
 * does by default). They are answered and streamed as Replicate sent them, and never logged.
 */
const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 30 });
const logs = useGuardEnv();

describe("data-URL outputs", () => {
  it("are answered as Replicate sent them, and no log line carries one", async () => {
    setEnv({ REPLICATE_SYNC_WAIT_SECONDS: "5" });
    const response = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "a lighthouse" }));
    const body = await response.json();
    expect(response.status).toBe(200);
    const [output] = body.output as string[];
    expect(output).toMatch(/^data:image\/png;base64,/);
    expect(output.length).toBeGreaterThan(100_000);
    expect(sim.requests.map((request) => request.kind)).toEqual(["create"]);
    expect(logs.requests()).toHaveLength(1);
    for (const line of logs.lines) expect(line).not.toMatch(/data:image|base64,/);
  });

  it("reach the event stream whole, and still no log line carries one", async () => {
    setEnv({ REPLICATE_SYNC_WAIT_SECONDS: "5" });
    sim.override({ imageStreams: true, fileStreamData: "data-url" });
    const response = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "a lighthouse [run:400]" }, { headers: { accept: "text/event-stream" } }));
    const outputs: unknown[] = [];
    for await (const event of readSseEvents(response.body!)) if (event.event === "output") outputs.push(JSON.parse(event.data).output);
    expect(outputs.flat().some((file) => typeof file === "string" && file.startsWith("data:image/png;base64,"))).toBe(true);
    for (const line of logs.lines) expect(line).not.toMatch(/data:image|base64,/);
  });
});
