import { describe, expect, it, onTestFinished, vi } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { Poller } from "@/lib/server/replicate/poller";
import { readSseEvents } from "@/lib/shared/sse";
import { settle, useFakeClock } from "@/tests/support/fake-clock";
import { useGuardEnv } from "@/tests/support/guard-env";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

/**
 * In sync mode Replicate answered file outputs as `data:` URLs of hundreds of KB for a few weeks
 * in 2024, and file streams may still carry them (the simulator's `syncDataUrls`, on here). They
 * are answered and streamed as Replicate sent them, and never logged.
 */
const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 30, syncDataUrls: true });
const logs = useGuardEnv();
// Fake time: the run and the stream cannot overtake each other on a busy machine.
useFakeClock();

describe("data-URL outputs", () => {
  it("are answered as Replicate sent them, and no log line carries one", async () => {
    setEnv({ REPLICATE_SYNC_WAIT_SECONDS: "5" });
    const response = await settle(POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "a lighthouse" })));
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
    const outputs = await settle(
      (async () => {
        const request = jsonPost(
          "http://localhost/api/ai/replicate",
          { prompt: "a lighthouse [run:400]" },
          { headers: { accept: "text/event-stream" } },
        );
        const response = await POST(request);
        const seen: unknown[] = [];
        for await (const event of readSseEvents(response.body!))
          if (event.event === "output") seen.push(JSON.parse(event.data).output);
        return seen;
      })(),
    );
    expect(outputs.flat().some((file) => typeof file === "string" && file.startsWith("data:image/png;base64,"))).toBe(true);
    for (const line of logs.lines) expect(line).not.toMatch(/data:image|base64,/);
  });

  it("of a stale held answer are not kept while a JSON request waits on (its answer is the ended prediction)", async () => {
    setEnv({ REPLICATE_SYNC_WAIT_SECONDS: "1", REPLICATE_TIMEOUT_SECONDS: "30" });
    const waited: unknown[] = [];
    const next = Poller.prototype.next;
    const spy = vi.spyOn(Poller.prototype, "next").mockImplementation(function (this: Poller, prediction, options) {
      waited.push(prediction.output);
      return next.call(this, prediction, options);
    });
    onTestFinished(() => spy.mockRestore());
    // Past half its run when the 1 s hold ends: the held create answers `processing` with its files as data URLs.
    const response = await settle(POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "a lighthouse [run:1500]" })));
    const body = await response.json();
    expect(body.status).toBe("succeeded");
    expect(body.output).toEqual([expect.stringMatching(/^https?:\/\//)]);
    expect(waited.length).toBeGreaterThan(0);
    expect(waited).toEqual(waited.map(() => null));
  });
});
