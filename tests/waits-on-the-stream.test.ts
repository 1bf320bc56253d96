import { http, HttpResponse } from "msw";
import { afterEach, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { advance, settle, useFakeClock } from "@/tests/support/fake-clock";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

/**
 * Past the create's hold, a prediction with a stream (`urls.stream`: file streams of image models,
 * text streams of language models) is waited for on it: the stream's `done` ends the wait, the
 * prediction is read once, whole, and no round polls it meanwhile. A stream that breaks or stays
 * silent gives the wait back to the rounds.
 */
const { sim, server } = useSimulatedReplicate();
useFakeClock();
// The process's poller outlives a test: let its last round end on the fake clock, not with it.
afterEach(() => advance(1_100));

const URL = "http://localhost/api/ai/replicate";
/** Where the simulator's file streams are (their own host, as stream.replicate.com in production). */
const STREAM = "https://stream.replicate.test/v1/files/:id/stream";
// A 1 s hold and 1 s rounds: polling alone would answer up to a round after the end, for a GET a round.
const env = () =>
  setEnv({ REPLICATE_SYNC_WAIT_SECONDS: "1", REPLICATE_POLL_INTERVAL_MS: "1000", REPLICATE_TIMEOUT_SECONDS: "60" });

/** Posts, and notes the fake time the answer came at. */
function timedPost(prompt: string) {
  const answer = { at: 0 };
  const response = POST(jsonPost(URL, { prompt })).then((r) => {
    answer.at = Date.now();
    return r;
  });
  return { answer, response };
}

function lagOf(id: string, answeredAt: number): number {
  return answeredAt - sim.get(id)!.finishedAt!;
}

describe("a sync request past its create's hold", () => {
  it("is answered at the stream's `done`: one stream, one read, no polls in between", async () => {
    env();
    const { answer, response } = timedPost("[run:4000] a fox");
    const body = await (await settle(response)).json();
    expect(body.status).toBe("succeeded");
    // Whole, as a GET answers it: with its logs.
    expect(body.logs).toContain("100%");
    expect(sim.requests.map((request) => request.kind)).toEqual(["create", "stream", "get"]);
    expect(lagOf(body.id, answer.at)).toBeLessThan(50);
  });

  it("of a language model waits on its text stream the same way", async () => {
    env();
    const { answer, response } = timedPost("[text] [run:4000] tell me a story");
    const body = await (await settle(response)).json();
    expect(body.status).toBe("succeeded");
    expect(sim.requests.map((request) => request.kind)).toEqual(["create", "stream", "get"]);
    expect(lagOf(body.id, answer.at)).toBeLessThan(50);
  });

  it("goes back to the rounds when its stream closes without `done`", async () => {
    env();
    let streams = 0;
    server.use(
      http.get(STREAM, () => {
        streams += 1;
        return new HttpResponse("", { headers: { "content-type": "text/event-stream" } });
      }),
    );
    const body = await (await settle(POST(jsonPost(URL, { prompt: "[run:6000] cut" })))).json();
    expect(body.status).toBe("succeeded");
    expect(streams).toBe(1);
    // The rounds (and the bar's ETA) took it over: more than the one read after a `done`.
    expect(sim.count("get")).toBeGreaterThan(1);
  });

  it("is still polled now and then while its stream stays silent, so it never waits forever", async () => {
    env();
    // A stream that opens and never says anything.
    server.use(
      http.get(STREAM, () => new HttpResponse(new ReadableStream(), { headers: { "content-type": "text/event-stream" } })),
    );
    const response = POST(jsonPost(URL, { prompt: "[run:3000] silent" }));
    await advance(2_500);
    expect(sim.count("get")).toBe(0);
    const body = await (await settle(response)).json();
    expect(body.status).toBe("succeeded");
    // Answered by a fallback round (one in five), not at once, and by one read.
    expect(sim.count("get")).toBe(1);
  });

  it("without a stream, is polled as before", async () => {
    env();
    sim.override({ imageStreams: false });
    const body = await (await settle(POST(jsonPost(URL, { prompt: "[run:6000] no stream" })))).json();
    expect(body.status).toBe("succeeded");
    expect(sim.count("stream")).toBe(0);
    expect(sim.count("get")).toBeGreaterThan(1);
  });
});
