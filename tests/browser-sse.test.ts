import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSseParser, readSseEvents, type SseEvent } from "@/lib/shared/sse";

function parseAll(chunks: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

const ROUTE_STREAM =
  ": keep-alive\n\n" +
  'event: status\ndata: {"id":"p1","status":"starting"}\n\n' +
  'event: progress\r\ndata: {"percentage":40,"current":12,"total":30,"pass":1}\r\n\r\n' +
  'event: logs\rdata: "Using seed: 7\\n"\r\r' +
  'event: done\ndata: {"id":"p1","status":"succeeded","output":["https://x/y.png"]}\n\n';

const ROUTE_EVENTS: SseEvent[] = [
  { event: "status", data: '{"id":"p1","status":"starting"}' },
  { event: "progress", data: '{"percentage":40,"current":12,"total":30,"pass":1}' },
  { event: "logs", data: '"Using seed: 7\\n"' },
  { event: "done", data: '{"id":"p1","status":"succeeded","output":["https://x/y.png"]}' },
];

describe("SSE parser", () => {
  it("reads events with \\n, \\r\\n and \\r line ends and skips comments", () => {
    expect(parseAll([ROUTE_STREAM])).toEqual(ROUTE_EVENTS);
  });

  it("gives the same events whatever the chunk boundaries, including between \\r and \\n", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(ROUTE_STREAM.length), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks = [0, ...points].map((start, index) => ROUTE_STREAM.slice(start, points[index] ?? ROUTE_STREAM.length));
        expect(parseAll(chunks)).toEqual(ROUTE_EVENTS);
      }),
    );
    expect(parseAll(["data: a\r", "\ndata: b\r", "\n\r", "\n"])).toEqual([{ event: "message", data: "a\nb" }]);
  });

  it("joins multi-line data with \\n and strips only one leading space", () => {
    expect(parseAll(["data:  two spaces\ndata:none\ndata\n\n"])).toEqual([{ event: "message", data: " two spaces\nnone\n" }]);
  });

  it("does not dispatch an event without data, nor one cut off by the end of the stream", () => {
    expect(parseAll(["event: status\n\n", "event: done\ndata: {}"])).toEqual([]);
  });

  it("resets the event name after each dispatch and ignores id and retry", () => {
    expect(parseAll(["event: logs\nid: 3\nretry: 10\ndata: x\n\ndata: y\n\n"])).toEqual([
      { event: "logs", data: "x" },
      { event: "message", data: "y" },
    ]);
  });

  it("reads a data line of hundreds of KB (a file stream's data URL) across many chunks as one event", () => {
    const dataUrl = `data:image/png;base64,${"iVBORw0KGgo".repeat(40_000)}`;
    const stream = `event: output\r\ndata: ${dataUrl}\r\n\r\nevent: done\ndata: {}\n\n`;
    const chunks = Array.from({ length: Math.ceil(stream.length / 65_536) }, (_, i) =>
      stream.slice(i * 65_536, (i + 1) * 65_536),
    );
    expect(chunks.length).toBeGreaterThan(5);
    expect(parseAll(chunks)).toEqual([
      { event: "output", data: dataUrl },
      { event: "done", data: "{}" },
    ]);
  });

  it("drops a leading byte order mark", () => {
    expect(parseAll(["\uFEFFevent: a\ndata: 1\n\n"])).toEqual([{ event: "a", data: "1" }]);
  });
});

describe("readSseEvents", () => {
  it("decodes multi-byte characters split across chunks", async () => {
    const bytes = new TextEncoder().encode('event: logs\ndata: "100%|██████████| 30/30"\n\n');
    const split = bytes.indexOf(0xe2) + 1; // inside the first "█"
    const events: SseEvent[] = [];
    for await (const event of readSseEvents(streamOf([bytes.slice(0, split), bytes.slice(split)]))) events.push(event);
    expect(events).toEqual([{ event: "logs", data: '"100%|██████████| 30/30"' }]);
  });

  it("cancels the underlying stream when the reader stops early", async () => {
    let canceled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("data: 1\n\ndata: 2\n\n"));
      },
      cancel() {
        canceled = true;
      },
    });
    for await (const event of readSseEvents(stream)) {
      expect(event.data).toBe("1");
      break;
    }
    expect(canceled).toBe(true);
  });
});
