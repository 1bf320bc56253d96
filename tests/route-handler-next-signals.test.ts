import { describe, expect, it } from "vitest";
import { replicateRoute } from "@/lib/server/route-handler";
import { setGuardEnv, useGuardEnv } from "@/tests/support/guard-env";
import { useSimulatedReplicate } from "@/tests/support/route-env";

useSimulatedReplicate();
const logs = useGuardEnv();

/** What Next throws from `request.headers` while `next build` prerenders a GET route of an app with Cache Components. */
function prerenderStop(): Error {
  return Object.assign(new Error("Route /t needs to bail out of prerendering at this point because it used request.headers."), {
    digest: "DYNAMIC_SERVER_USAGE",
  });
}

describe("Next's own signals go back to Next", () => {
  it("rethrows a prerender's stop instead of answering a 500 problem, and logs no failed request", async () => {
    const signal = prerenderStop();
    const GET = replicateRoute("GET /t", async () => {
      throw signal;
    });
    await expect(GET(new Request("http://app.test/t"))).rejects.toBe(signal);
    expect(logs.requests()).toEqual([]);
  });

  it("frees the request's in-flight slot when it does", async () => {
    setGuardEnv({ REPLICATE_MAX_IN_FLIGHT: "1" });
    let stop = true;
    const GET = replicateRoute("GET /t", async () => {
      if (stop) throw prerenderStop();
      return Response.json({ ok: true });
    });
    await expect(GET(new Request("http://app.test/t"))).rejects.toThrow("bail out of prerendering");
    stop = false;
    expect((await GET(new Request("http://app.test/t"))).status).toBe(200);
  });

  it("still answers any other error as a problem", async () => {
    const GET = replicateRoute("GET /t", async () => {
      throw new Error("boom");
    });
    const response = await GET(new Request("http://app.test/t"));
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ status: 500 });
  });
});
