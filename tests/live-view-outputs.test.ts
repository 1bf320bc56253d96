import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { readSseEvents, type SseEvent } from "@/lib/shared/sse";
import { BASE, jsonPost, useSimulatedReplicate } from "@/tests/support/route-env";
import { settle, useFakeClock } from "@/tests/support/fake-clock";

/**
 * What `urls.stream` sends reaches the live view as the model makes it: a language model's text
 * chunks as one growing text, an image model's files (URLs or data URLs, one an event) as the
 * array of files so far, never one concatenated string.
 */
const { server } = useSimulatedReplicate({ bootMs: 5, runMs: 200 });
// Fake time: the simulator's run and the poll rounds cannot overtake the stream on a busy machine.
useFakeClock();
const STREAM_ORIGIN = new URL(BASE).origin;

function replaceStream(events: { event: string; data: string }[]) {
  server.use(
    http.get(`${STREAM_ORIGIN}/stream/*`, () => {
      const text = events.map(({ event, data }) => `event: ${event}\ndata: ${data}\n\n`).join("");
      return new HttpResponse(text, { headers: { "content-type": "text/event-stream" } });
    }),
  );
}

async function outputEvents(prompt: string): Promise<unknown[]> {
  return settle(
    (async () => {
      const response = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt }, { headers: { accept: "text/event-stream" } }));
      const all: SseEvent[] = [];
      for await (const event of readSseEvents(response.body!)) all.push(event);
      return all.filter((e) => e.event === "output").map((e) => JSON.parse(e.data).output);
    })(),
  );
}

describe("the live view of a streamed output", () => {
  it("shows an image model's streamed files as the array of files as they come", async () => {
    const png = `data:image/png;base64,${"A".repeat(64)}`;
    replaceStream([
      { event: "output", data: "https://replicate.delivery/xezq/out-0.webp" },
      { event: "output", data: png },
      { event: "done", data: "{}" },
    ]);
    const outputs = await outputEvents("[text] stands in for an image model that streams files");
    expect(outputs[0]).toEqual(["https://replicate.delivery/xezq/out-0.webp"]);
    expect(outputs[1]).toEqual(["https://replicate.delivery/xezq/out-0.webp", png]);
    for (const output of outputs) expect(typeof output).not.toBe("string");
  });

  it("shows a text model's tokens as one growing text", async () => {
    replaceStream([
      { event: "output", data: "Hello" },
      { event: "output", data: ", world" },
      { event: "done", data: "{}" },
    ]);
    const outputs = await outputEvents("[text] a language model");
    expect(outputs.slice(0, 2)).toEqual(["Hello", "Hello, world"]);
  });
});
