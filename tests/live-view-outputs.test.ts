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

/** Text streams are served under `/stream/`, file streams under `/v1/files/`. */
function replaceStream(events: { event: string; data: string }[]) {
  const answer = () => {
    const text = events.map(({ event, data }) => `event: ${event}\ndata: ${data}\n\n`).join("");
    return new HttpResponse(text, { headers: { "content-type": "text/event-stream" } });
  };
  server.use(http.get(`${STREAM_ORIGIN}/stream/*`, answer), http.get(`${STREAM_ORIGIN}/v1/files/*`, answer));
}

/** The output events of a POST stream; the prediction never ends by itself: it is finished once `outputs` were seen. */
async function outputEvents(prompt: string, outputs: number, all: unknown[] = []): Promise<unknown[]> {
  const response = await POST(
    jsonPost("http://localhost/api/ai/replicate", { prompt: `[never] ${prompt}` }, { headers: { accept: "text/event-stream" } }),
  );
  const seen: unknown[] = [];
  for await (const event of readSseEvents(response.body!)) {
    if (event.event === "done") all.push(JSON.parse(event.data));
    if (event.event !== "output") continue;
    seen.push(JSON.parse(event.data).output);
    if (seen.length === outputs) sim.finish([...sim.predictions.keys()][0], "succeeded");
  }
  return seen;
}

describe("the live view of a streamed output", () => {
  it("shows an image model's file stream (under /v1/files/) as the array of files so far, the last one its output", async () => {
    onTestFinished(sim.override({ separateStreamHost: false, imageStreams: true })); // TODO(issue 12): tidy until this stand-in listens on the stream host (urls.stream is not on the API host)
    const png = `data:image/png;base64,${"A".repeat(64)}`;
    replaceStream([
      { event: "output", data: "https://replicate.delivery/xezq/out-0.webp" },
      { event: "output", data: png },
      { event: "done", data: "{}" },
    ]);
    const done: unknown[] = [];
    const outputs = await outputEvents("an image model that streams files", 2, done);
    expect(outputs[0]).toEqual(["https://replicate.delivery/xezq/out-0.webp"]);
    expect(outputs[1]).toEqual(["https://replicate.delivery/xezq/out-0.webp", png]);
    for (const output of outputs) expect(typeof output).not.toBe("string");
    expect(outputs.at(-1)).toEqual((done[0] as { output: unknown }).output);
  });

  it("shows a text stream as text even when its first token starts like a URL", async () => {
    onTestFinished(sim.override({ separateStreamHost: false })); // TODO(issue 12): as above
    replaceStream([
      { event: "output", data: "https://example.com" },
      { event: "output", data: " is an example domain." },
      { event: "done", data: "{}" },
    ]);
    const outputs = await outputEvents("[text] a language model that starts with a link", 2);
    expect(outputs.slice(0, 2)).toEqual(["https://example.com", "https://example.com is an example domain."]);
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
