import { http, HttpResponse } from "msw";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { callReplicate } from "@/lib/server/replicate/transport";
import { turnsUntil } from "@/tests/support/fake-clock";
import { BASE, jsonPost, setEnv, TOKEN, useSimulatedReplicate } from "@/tests/support/route-env";
import { testConfig } from "@/tests/support/test-engine";

const { sim, server } = useSimulatedReplicate();
const ELSEWHERE = "https://elsewhere.test";

/** Requests seen by a handler on another origin, with the Authorization header each carried. */
function otherOrigin(): { authorizations: (string | null)[] } {
  const seen = { authorizations: [] as (string | null)[] };
  server.use(
    http.all(`${ELSEWHERE}/*`, ({ request }) => {
      seen.authorizations.push(request.headers.get("authorization"));
      return HttpResponse.json({ results: [], next: null });
    }),
  );
  return seen;
}

afterEach(() => vi.restoreAllMocks());

describe("an upstream error body that echoes the request's headers", () => {
  it("never puts the token into the client's answer, its headers or a log line", async () => {
    const logged: string[] = [];
    for (const level of ["log", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }
    server.use(
      http.post(`${BASE}/models/owner/model/predictions`, ({ request }) =>
        HttpResponse.json(
          {
            title: `Bad request from ${request.headers.get("authorization")}`,
            detail: `You sent Authorization: ${request.headers.get("authorization")}`,
            status: 422,
            echoed: { headers: Object.fromEntries(request.headers), [TOKEN]: [TOKEN] },
          },
          { status: 422, headers: { "Retry-After": TOKEN } },
        ),
      ),
    );
    const response = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "p" }));
    const text = await response.text();
    expect(response.status).toBe(422);
    expect(text).not.toContain(TOKEN);
    expect(JSON.parse(text)).toMatchObject({
      detail: "You sent Authorization: [redacted]",
      echoed: { headers: { authorization: "[redacted]" } },
    });
    for (const [, value] of response.headers) expect(value).not.toContain(TOKEN);
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) expect(line).not.toContain(TOKEN);
  });
});

describe("a 2xx answer that echoes the token", () => {
  it("is redacted however it spells the token (as written, \\u-escaped, upper-cased, base64 with \\/, percent-encoded with \\u-escaped %), and passed on as sent otherwise", async () => {
    const escaped = [...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
    const base64 = Buffer.from(`Bearer ${TOKEN}`).toString("base64").replaceAll("/", "\\/");
    const answers = [
      `{"id":"x","plain":"${TOKEN}"}`,
      `{"id":"x","escaped":"${escaped}"}`,
      `{"id":"x","logs":"line\\nline"}`,
      `{"id":"x","upper":"${TOKEN.toUpperCase()}"}`,
      `{"id":"x","header":"${base64}"}`,
      // Percent-encoded, each % itself JSON-escaped: neither form alone shows in the text.
      `{"id":"x","both":"${[...Buffer.from(TOKEN)].map((byte) => `\\u0025${byte.toString(16)}`).join("")}"}`,
    ];
    server.use(
      http.get(
        `${BASE}/echo/:n`,
        ({ params }) => new HttpResponse(answers[Number(params.n)], { headers: { "content-type": "application/json" } }),
      ),
    );
    const read = async (n: number) =>
      (
        await callReplicate<Record<string, string>>(testConfig(), {
          method: "GET",
          path: `/echo/${n}`,
          idempotent: true,
          deadline: Date.now() + 1000,
        })
      ).data;
    expect((await read(0)).plain).toBe("[redacted]");
    expect((await read(1)).escaped).toBe("[redacted]");
    expect((await read(2)).logs).toBe("line\nline");
    expect((await read(3)).upper).toBe("[redacted]");
    expect((await read(4)).header).toMatch(/\[redacted\]/);
    expect((await read(5)).both).toBe("[redacted]");
  });
});

describe("an upstream echo of the token in another encoding", () => {
  const base64 = (text: string) => Buffer.from(text).toString("base64");
  const percent = (text: string) => [...Buffer.from(text)].map((byte) => `%${byte.toString(16)}`).join("");
  const forms = {
    "percent-encoded": (token: string) => percent(token),
    "upper-cased": (token: string) => token.toUpperCase(),
    "base64 of the header": (token: string) => base64(`Bearer ${token}`),
    "base64url inside a longer text": (token: string) =>
      base64(`{"authorization":"Bearer ${token}"}`).replaceAll("+", "-").replaceAll("/", "_"),
    "JSON \\u-escaped": (token: string) => token.replace(/[a-z]/g, (char) => `\\u00${char.charCodeAt(0).toString(16)}`),
  };

  it.each(Object.entries(forms))("is redacted when %s, in the answer and the log", async (_, encode) => {
    const logged: string[] = [];
    for (const level of ["log", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }
    const echo = encode(TOKEN);
    server.use(
      http.post(`${BASE}/models/owner/model/predictions`, () =>
        HttpResponse.json({ title: "Bad request", detail: `You sent ${echo}.`, status: 422, echoed: [echo] }, { status: 422 }),
      ),
    );
    const response = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "p" }));
    const text = await response.text();
    expect(response.status).toBe(422);
    // Only the characters that carry none of the token's bits may remain of the encoded form.
    expect(JSON.parse(text).detail).toMatch(/\[redacted\]/);
    expect(text).not.toContain(echo.slice(4, -4));
    for (const line of logged) expect(line).not.toContain(echo.slice(4, -4));
  });
});

describe("where the token goes", () => {
  it("goes with a call to the configured base URL, never with one naming another origin", async () => {
    const seen = otherOrigin();
    const atBase: (string | null)[] = [];
    server.use(
      http.get(
        `${BASE}/predictions`,
        ({ request }) => (atBase.push(request.headers.get("authorization")), HttpResponse.json({ results: [] })),
      ),
    );
    const config = testConfig();
    // A deadline far off: this test is about where the token goes, not about time.
    const deadline = Date.now() + 60_000;
    await callReplicate(config, { method: "GET", path: "/predictions", idempotent: true, deadline });
    await callReplicate(config, { method: "GET", path: `${ELSEWHERE}/v1/predictions`, idempotent: true, deadline });
    await callReplicate(config, { method: "GET", path: `${BASE}/predictions`, idempotent: true, deadline });
    expect(atBase).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
    expect(seen.authorizations).toEqual([null]);
  });

  it("never sends it to a list page's `next` link on another origin", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10" });
    // Without streams to wait on, the waits are polled.
    onTestFinished(sim.override({ imageStreams: false }));
    const seen = otherOrigin();
    let lists = 0;
    server.use(
      http.get(`${BASE}/predictions`, ({ request }) => {
        lists += 1;
        expect(request.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
        return HttpResponse.json({ results: [], next: `${ELSEWHERE}/v1/predictions?cursor=steal` });
      }),
    );
    // Many in flight, so the poller reads the list endpoint, whose page links elsewhere.
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => POST(jsonPost("http://localhost/api/ai/replicate", { prompt: `[run:60] next ${i}` }))),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(lists).toBeGreaterThan(0);
    expect(seen.authorizations.filter((authorization) => authorization?.includes(TOKEN))).toEqual([]);
  });
});

describe("a redirect from Replicate", () => {
  it("is not followed: the call fails as a bad answer (502), and the place it points to is never asked", async () => {
    const seen = otherOrigin();
    server.use(
      http.get(
        `${BASE}/predictions/moved`,
        () => new HttpResponse(null, { status: 302, headers: { location: `${ELSEWHERE}/v1/x` } }),
      ),
    );
    const error = await callReplicate(testConfig(), {
      method: "GET",
      path: "/predictions/moved",
      idempotent: true,
      deadline: Date.now() + 60_000,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 502, title: "Bad answer from Replicate" });
    expect(seen.authorizations).toEqual([]);
  });
});

describe("a prediction passed on as Replicate sent it", () => {
  it("is answered with Replicate's own bytes (spacing, escapes, number forms kept), never a redacted one's", async () => {
    const sent =
      '{ "id": "bytes0001abcdefg", "status": "succeeded", "output": ["https://replicate.delivery/x/out.png"],\n' +
      '  "metrics": { "predict_time": 1.50 }, "logs": "caf\\u00e9 done", "urls": {} }';
    server.use(
      http.post(
        `${BASE}/models/owner/model/predictions`,
        () => new HttpResponse(sent, { status: 201, headers: { "content-type": "application/json" } }),
      ),
    );
    const response = await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "p" }));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.text()).toBe(sent);

    const echoing = sent.replace("done", TOKEN);
    server.use(
      http.post(
        `${BASE}/models/owner/model/predictions`,
        () => new HttpResponse(echoing, { status: 201, headers: { "content-type": "application/json" } }),
      ),
    );
    const redacted = await (await POST(jsonPost("http://localhost/api/ai/replicate", { prompt: "q" }))).text();
    expect(redacted).not.toContain(TOKEN);
    expect(JSON.parse(redacted).logs).toBe("café [redacted]");
  });
});

describe("a retry that waits longer than one attempt's timeout", () => {
  /** Fake setTimeout (axios-retry's waits and axios's own timeout timer), the answers still real. */
  function useFakeWaits() {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    onTestFinished(() => void vi.useRealTimers());
  }
  function throttledOnce(method: "get" | "post", path: string, answer: object) {
    const seen = { attempts: 0 };
    server.use(
      http[method](`${BASE}${path}`, () => {
        seen.attempts += 1;
        return seen.attempts === 1
          ? HttpResponse.json({ detail: "Request was throttled.", status: 429 }, { status: 429 })
          : HttpResponse.json(answer, { status: method === "post" ? 201 : 200 });
      }),
    );
    return seen;
  }
  // The planner's wait (a create's paced slot: ten minutes) is far longer than an attempt's timeout.
  const PACED_MS = 600_000;

  it("is made for a create, with the attempt's whole timeout: the wait is not taken out of it", async () => {
    useFakeWaits();
    const seen = throttledOnce("post", "/paced", { id: "paced0001", status: "starting" });
    let settled = false;
    const call = callReplicate<{ id: string }>(testConfig(), {
      method: "POST",
      path: "/paced",
      body: {},
      idempotent: false,
      retry: (failure) => (failure.status === 429 ? PACED_MS : null),
      timeoutMs: 10_000,
      deadline: Date.now() + 2 * PACED_MS,
    }).finally(() => (settled = true));
    await turnsUntil(() => seen.attempts === 1);
    await vi.advanceTimersByTimeAsync(PACED_MS);
    await turnsUntil(() => settled);
    expect((await call).data.id).toBe("paced0001");
    expect(seen.attempts).toBe(2);
  });

  it("is not made for a GET: its timeout bounds the whole call, waits included", async () => {
    useFakeWaits();
    const seen = throttledOnce("get", "/predictions/paced0001", { id: "paced0001", status: "starting" });
    const call = callReplicate(testConfig(), {
      method: "GET",
      path: "/predictions/paced0001",
      idempotent: true,
      retry: (failure) => (failure.status === 429 ? PACED_MS : null),
      timeoutMs: 10_000,
      deadline: Date.now() + 2 * PACED_MS,
    });
    let failure: unknown;
    call.catch((error: unknown) => (failure = error));
    // Given up with its 429 at once: no retry waits ten minutes past a 10 s timeout.
    await turnsUntil(() => failure !== undefined);
    expect(failure).toMatchObject({ status: 429 });
    expect(seen.attempts).toBe(1);
  });
});
