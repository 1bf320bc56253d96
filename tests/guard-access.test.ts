import { describe, expect, it, vi } from "vitest";
import { DELETE, GET } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { POST as webhook } from "@/app/api/ai/replicate/webhook/route";
import { keyMatches } from "@/lib/server/guard/access";
import { ROUTE_KEY, setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { handleOf, jsonPost, setEnv, TOKEN, useSimulatedReplicate } from "@/tests/support/route-env";

const { sim } = useSimulatedReplicate({ bootMs: 5, runMs: 20 });
const logs = useGuardEnv();
const APP = "http://app.test";

function post(headers: Record<string, string> = {}, body: unknown = { prompt: "a lighthouse" }) {
  return POST(jsonPost(`${APP}/api/ai/replicate`, body, { headers: { host: "app.test", ...headers } }));
}

async function problem(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/json/);
  const text = await response.text();
  expect(text).not.toContain(ROUTE_KEY);
  expect(text).not.toContain(TOKEN);
  const body = JSON.parse(text);
  expect(body).toMatchObject({ title: expect.any(String), detail: expect.any(String), status });
  return body as { title: string; detail: string; status: number };
}

describe("cross-site browser requests", () => {
  it("lets curl through: no Origin, no Sec-Fetch-Site", async () => {
    expect((await post()).status).toBe(200);
  });

  it("lets the app's own page through (Sec-Fetch-Site: same-origin)", async () => {
    const response = await post({ "sec-fetch-site": "same-origin", origin: APP });
    expect(response.status).toBe(200);
  });

  it("lets an older browser's same-origin POST through on Origin alone, default ports ignored", async () => {
    expect((await post({ origin: "http://app.test" })).status).toBe(200);
    expect((await post({ origin: "https://app.test", host: "app.test:443", "x-forwarded-proto": "https" })).status).toBe(200);
    expect((await post({ origin: "http://localhost:3000", host: "localhost:3000" })).status).toBe(200);
  });

  it("takes the host a proxy forwarded, and the origins listed in APP_ORIGIN", async () => {
    const proxied = {
      host: "10.0.0.7:3000",
      "x-forwarded-host": "app.example.com",
      "x-forwarded-proto": "https",
      "sec-fetch-site": "same-site",
    };
    expect((await post({ ...proxied, origin: "https://app.example.com" })).status).toBe(200);
    setGuardEnv({ APP_ORIGIN: "https://www.example.com, https://example.com" });
    expect((await post({ origin: "https://www.example.com", "sec-fetch-site": "same-site" })).status).toBe(200);
  });

  it.each([
    ["another site's page", { origin: "https://evil.example", "sec-fetch-site": "cross-site" }],
    ["a sibling subdomain", { origin: "http://evil.app.test", "sec-fetch-site": "same-site" }],
    ["an older browser on another site", { origin: "https://evil.example" }],
    ["a sandboxed frame (Origin: null)", { origin: "null", "sec-fetch-site": "cross-site" }],
    ["a cross-site form without Origin", { "sec-fetch-site": "cross-site" }],
    ["a different port on the same host", { origin: "http://app.test:8080" }],
    ["the same host over https (another origin than http://app.test)", { origin: "https://app.test" }],
    ["the same host over https, :443 in Host", { origin: "https://app.test", host: "app.test:443" }],
    ["the same host over http behind an https proxy", { origin: "http://app.test", "x-forwarded-proto": "https" }],
  ])("refuses %s with 403 problem JSON, before Replicate is called", async (_case, headers) => {
    const body = await problem(await post(headers), 403);
    expect(body.title).toBe("Cross-site request refused");
    expect(sim.requests).toHaveLength(0);
  });

  it("refuses cross-site even with the right key", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    await problem(
      await post({ authorization: `Bearer ${ROUTE_KEY}`, origin: "https://evil.example", "sec-fetch-site": "cross-site" }),
      403,
    );
    expect(sim.requests).toHaveLength(0);
  });
});

describe("ROUTE_API_KEY", () => {
  it("answers 401 problem JSON with WWW-Authenticate when the key is missing, and calls nothing", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    const response = await post({ "sec-fetch-site": "same-origin" });
    const body = await problem(response, 401);
    expect(body.detail).toContain("Authorization: Bearer");
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(sim.requests).toHaveLength(0);
  });

  it.each([
    ["a wrong key", `Bearer ${ROUTE_KEY.slice(0, -1)}x`],
    ["a prefix of the key", `Bearer ${ROUTE_KEY.slice(0, 8)}`],
    ["the key and more", `Bearer ${ROUTE_KEY}0`],
    ["another scheme", `Basic ${ROUTE_KEY}`],
    ["an empty bearer", "Bearer "],
  ])("refuses %s with 401", async (_case, authorization) => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    await problem(await post({ authorization }), 401);
    expect(sim.requests).toHaveLength(0);
  });

  it("runs the model for the right key, the scheme in any case", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    expect((await post({ authorization: `Bearer ${ROUTE_KEY}` })).status).toBe(200);
    expect((await post({ authorization: `bearer ${ROUTE_KEY}`, "sec-fetch-site": "same-origin" })).status).toBe(200);
  });

  it("guards GET and DELETE of a prediction too", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    const id = handleOf("abcdefgh12345678", { identity: "api-key" });
    const request = (method: string, headers: Record<string, string> = {}) =>
      new Request(`${APP}/api/ai/replicate/${id}`, { method, headers });
    await problem(await GET(request("GET"), { params: Promise.resolve({ id }) }), 401);
    await problem(await DELETE(request("DELETE"), { params: Promise.resolve({ id }) }), 401);
    expect(sim.requests).toHaveLength(0);
    const allowed = await GET(request("GET", { authorization: `Bearer ${ROUTE_KEY}` }), { params: Promise.resolve({ id }) });
    expect(allowed.status).toBe(404);
  });

  it("runs before the configuration: a caller without the key never learns which variable is missing", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    setEnv({ REPLICATE_API_TOKEN: "" });
    const body = await problem(await post(), 401);
    expect(body.detail).not.toContain("REPLICATE_API_TOKEN");
    const configError = await problem(await post({ authorization: `Bearer ${ROUTE_KEY}` }), 500);
    expect(configError.detail).toContain("REPLICATE_API_TOKEN");
  });

  it("answers a malformed key setting as a 500 naming it, without echoing it", async () => {
    setGuardEnv({ ROUTE_API_KEY: "short key" });
    const body = await problem(await post(), 500);
    expect(body.detail).toContain("ROUTE_API_KEY");
    expect(body.detail).not.toContain("short key");
  });

  it("compares keys by content only", () => {
    expect(keyMatches(ROUTE_KEY, ROUTE_KEY)).toBe(true);
    expect(keyMatches(`${ROUTE_KEY} `, ROUTE_KEY)).toBe(false);
    expect(keyMatches("", ROUTE_KEY)).toBe(false);
    expect(keyMatches(ROUTE_KEY.toUpperCase(), ROUTE_KEY)).toBe(false);
  });
});

describe("the webhook route", () => {
  it("has no access check: its signature is the check", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    setEnv({ REPLICATE_WEBHOOK_SECRET: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0" });
    const response = await webhook(
      new Request(`${APP}/api/ai/replicate/webhook`, {
        method: "POST",
        headers: { origin: "https://api.replicate.com", "sec-fetch-site": "cross-site" },
        body: "{}",
      }),
    );
    const body = await problem(response, 401);
    expect(body.title).toBe("Invalid webhook signature");
  });
});

describe("with no key set", () => {
  it("logs once, at the first request, that the route is open to anyone who can reach it", async () => {
    const send = () => POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: "p" }));
    expect(logs.records().filter((r) => r.event === "open-route")).toHaveLength(0);
    await send();
    await send();
    const warnings = logs.records().filter((r) => r.event === "open-route");
    expect(warnings).toHaveLength(1);
    expect(warnings[0].level).toBe("warn");
    expect(warnings[0].message).toMatch(/open to anyone who can reach/);
    expect(warnings[0].message).toContain("ROUTE_API_KEY");
  });

  it("does not warn when a key is set", async () => {
    setGuardEnv({ ROUTE_API_KEY: ROUTE_KEY });
    await POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: "p" }, { headers: { authorization: `Bearer ${ROUTE_KEY}` } }));
    expect(logs.records().filter((r) => r.event === "open-route")).toHaveLength(0);
  });
});
