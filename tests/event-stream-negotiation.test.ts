import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { acceptWeight, eventStreamResponse, wantsEventStream } from "@/lib/server/http/sse-response";
import { jsonPost, useSimulatedReplicate } from "@/tests/support/route-env";

/** Which requests get an event stream (the Accept header's q-values), and what its headers are. */
useSimulatedReplicate({ bootMs: 5, runMs: 20 });

const withAccept = (accept: string) => new Request("http://localhost/api", { headers: { accept } });

describe("Accept: text/event-stream, weighed", () => {
  it.each([
    ["text/event-stream", true],
    ["TEXT/Event-Stream", true],
    ["application/json, text/event-stream;q=0.5", true],
    ["text/event-stream; q=0.001", true],
    ["text/event-stream;q=0", false],
    ["text/event-stream; q=0.000", false],
    ["application/json;q=0.9, text/event-stream;q=0", false],
    ["text/event-stream;q=0, text/event-stream;q=1", true],
    ["*/*", false],
    ["application/json", false],
    ["text/event-streams", false],
    ["", false],
  ])("%j asks for a stream: %s", (accept, expected) => {
    expect(wantsEventStream(withAccept(accept))).toBe(expected);
  });

  it("reads the weight given to a media type, 0 when it is not listed", () => {
    expect(acceptWeight("text/html;q=0.8, text/event-stream;charset=utf-8;q=0.3", "text/event-stream")).toBe(0.3);
    expect(acceptWeight("text/html", "text/event-stream")).toBe(0);
  });

  it("answers JSON, not a stream, to text/event-stream;q=0", async () => {
    const response = await POST(
      jsonPost(
        "http://localhost/api/ai/replicate",
        { prompt: "p" },
        { headers: { accept: "text/event-stream;q=0, application/json" } },
      ),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  });
});

describe("event stream headers", () => {
  it("send no Connection header (hop-by-hop, forbidden in HTTP/2), and keep proxies from buffering", async () => {
    const response = eventStreamResponse(async () => undefined);
    expect(response.headers.get("connection")).toBeNull();
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    await response.text();
  });
});
