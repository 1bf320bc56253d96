import { http, HttpResponse } from "msw";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { redact } from "@/lib/server/log";
import { settle } from "@/tests/support/fake-clock";
import { ROUTE_KEY, setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { BASE, jsonPost, setEnv, TOKEN, until, useSimulatedReplicate } from "@/tests/support/route-env";

const { sim, server } = useSimulatedReplicate({ bootMs: 5, runMs: 30 });
const logs = useGuardEnv();
const URL = "http://app.test/api/ai/replicate";
const post = (body: unknown, headers: Record<string, string> = {}) => POST(jsonPost(URL, body, { headers }));

describe("one structured log line per request", () => {
  it("names the route, status, duration, prediction id, polls, retries and upstream requests", async () => {
    const response = await post({ prompt: "logged" });
    const { id } = await response.json();
    const lines = logs.requests();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      route: "POST /api/ai/replicate",
      method: "POST",
      status: 200,
      prediction_id: id,
      retries: 0,
      upstream_requests: sim.requests.length,
    });
    expect(lines[0].polls).toBeGreaterThanOrEqual(1);
    expect(lines[0].duration_ms).toEqual(expect.any(Number));
    expect(typeof lines[0].time).toBe("string");
    // Nothing else was written on the way.
    expect(logs.lines.filter((line) => !line.includes('"event":"open-route"'))).toHaveLength(1);
  });

  it("counts the retries of a request and every request sent upstream", async () => {
    sim.failNext("get", "503");
    await post({ prompt: "retried" });
    const [line] = logs.requests();
    expect(line).toMatchObject({ retries: 1, upstream_requests: sim.requests.length });
  });

  it("logs refused requests too, without a prediction", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    await post({ prompt: "p" });
    expect(logs.requests()).toEqual([expect.objectContaining({ status: 401, upstream_requests: 0 })]);
    expect(logs.requests()[0].prediction_id).toBeUndefined();
  });

  it("logs a stream when it ends, with the whole stream's duration", async () => {
    // Fake time: the run's 80 ms and the 10 ms rounds are exact however busy the machine is.
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    onTestFinished(() => void vi.useRealTimers());
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10" });
    const response = await settle(post({ prompt: "[run:80] streamed" }, { accept: "text/event-stream" }));
    expect(logs.requests()).toHaveLength(0);
    await settle(response.text());
    const [line] = logs.requests();
    expect(line).toMatchObject({ status: 200, stream: true, prediction_id: [...sim.predictions.keys()][0] });
    expect(line.polls).toBeGreaterThanOrEqual(2);
    // Every request sent upstream, the prediction's own stream (outputs as they are made) included.
    expect(sim.count("stream")).toBe(1);
    expect(line.upstream_requests).toBe(sim.requests.length);
    expect(line.duration_ms).toBeGreaterThanOrEqual(80);
  });

  it("logs a stream the client left, once", async () => {
    const response = await post({ prompt: "[never] left" }, { accept: "text/event-stream" });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => sim.count("cancel") === 1);
    expect(logs.requests()).toHaveLength(1);
  });

  it("records an unexpected error's cause in the log with the token redacted, and answers without it", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    // A create answered with an id that is not one: the poll refuses to put it in a URL and throws.
    server.use(
      http.post(`${BASE}/models/owner/model/predictions`, () =>
        HttpResponse.json(
          {
            id: `x-${TOKEN}`,
            model: "owner/model",
            version: "hidden",
            status: "starting",
            input: { prompt: "p" },
            created_at: "2026-01-01T00:00:00.000Z",
            urls: { get: `${BASE}/predictions/x`, cancel: `${BASE}/predictions/x/cancel` },
          },
          { status: 201 },
        ),
      ),
    );
    const response = await post({ prompt: "p" }, { authorization: `Bearer ${ROUTE_KEY}` });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text).title).toBe("Internal error");
    expect(text).not.toContain(TOKEN);
    const [line] = logs.requests();
    expect(line.level).toBe("error");
    expect(line.error).toMatch(/Not a prediction id/);
    expect(line.error).toContain("[redacted]");
    for (const written of logs.lines) {
      expect(written).not.toContain(TOKEN);
      expect(written).not.toContain(ROUTE_KEY);
    }
  });
});

describe("redact", () => {
  it("replaces every occurrence of each secret, raw or JSON-escaped", () => {
    const secret = 'r8_a"b\\c';
    const text = `${secret} and ${JSON.stringify({ value: secret })}`;
    const redacted = redact(text, [secret]);
    expect(redacted).not.toContain(secret);
    expect(redacted).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(redacted.match(/\[redacted\]/g)).toHaveLength(2);
  });
});
