import { http, HttpResponse } from "msw";
import { describe, expect, it, onTestFinished } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { readSseEvents } from "@/lib/shared/sse";
import { BASE, jsonPost, useSimulatedReplicate } from "@/tests/support/route-env";

/**
 * What `urls.stream` sends reaches the live view as the model makes it: a language model's text
 * chunks as one growing text, an image model's files (URLs or data URLs, one an event) as the
 * array of files so far, never one concatenated string.
 */
const { sim, server } = useSimulatedReplicate({ bootMs: 5 });
const STREAM_ORIGIN = new URL(BASE).origin;

function replaceStream(events: { event: string; data: string }[]) {
  server.use(
    http.get(`${STREAM_ORIGIN}/stream/*`, () => {
      const text = events.map(({ event, data }) => `event: ${event}\ndata: ${data}\n\n`).join("");
      return new HttpResponse(text, { headers: { "content-type": "text/event-stream" } });
    }),
  );
}

/** The output events of a POST stream; the prediction never ends by itself: it is finished once `outputs` were seen. */
async function outputEvents(prompt: string, outputs: number): Promise<unknown[]> {
  const response = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: `[never] ${prompt}` }, { headers: { accept: "text/event-stream" } }));
  const seen: unknown[] = [];
  for await (const event of readSseEvents(response.body!)) {
    if (event.event !== "output") continue;
    seen.push(JSON.parse(event.data).output);
    if (seen.length === outputs) sim.finish([...sim.predictions.keys()][0], "succeeded");
  }
  return seen;
}

describe("the live view of a streamed output", () => {
  it("shows an image model's streamed files as the array of files as they come", async () => {
    onTestFinished(sim.override({ separateStreamHost: false })); // TODO(issue 12): tidy until this stand-in listens on the stream host (urls.stream is not on the API host)
    const png = `data:image/png;base64,${"A".repeat(64)}`;
    replaceStream([
      { event: "output", data: "https://replicate.delivery/xezq/out-0.webp" },
      { event: "output", data: png },
      { event: "done", data: "{}" },
    ]);
    const outputs = await outputEvents("[text] stands in for an image model that streams files", 2);
    expect(outputs[0]).toEqual(["https://replicate.delivery/xezq/out-0.webp"]);
    expect(outputs[1]).toEqual(["https://replicate.delivery/xezq/out-0.webp", png]);
    for (const output of outputs) expect(typeof output).not.toBe("string");
  });

  it("shows a text model's tokens as one growing text", async () => {
    onTestFinished(sim.override({ separateStreamHost: false })); // TODO(issue 12): tidy until this stand-in listens on the stream host (urls.stream is not on the API host)
    replaceStream([
      { event: "output", data: "Hello" },
      { event: "output", data: ", world" },
      { event: "done", data: "{}" },
    ]);
    const outputs = await outputEvents("[text] a language model", 2);
    expect(outputs.slice(0, 2)).toEqual(["Hello", "Hello, world"]);
  });
});
