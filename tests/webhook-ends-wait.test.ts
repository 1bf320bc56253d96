/**
 * With REPLICATE_WEBHOOK_URL set, sync creates (JSON and event stream) carry the webhook too, and
 * the delivery that reports the end answers the waiting request at once, not at the next poll. In
 * one process this runs on the in-memory events; across instances on Redis (the multi-instance test).
 */
import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/ai/replicate/route";
import { POST as webhook } from "@/app/api/ai/replicate/webhook/route";
import { DEFAULT_WEBHOOK_SECRET } from "@/dev/simulator/webhooks";
import { readSseEvents } from "@/lib/shared/sse";
import { jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";

const APP = "http://app.test";
// The simulator delivers its webhooks straight to the route handler, as Replicate would over HTTP.
const { sim } = useSimulatedReplicate({ runMs: 60, webhookFetch: (url, init) => webhook(new Request(String(url), init)) });

const polls = () => sim.count("get") + sim.count("list");
const useWebhooks = () =>
  // A poll round a minute away: only the webhook can end these waits within the test.
  setEnv({ REPLICATE_WEBHOOK_URL: APP, REPLICATE_WEBHOOK_SECRET: DEFAULT_WEBHOOK_SECRET, REPLICATE_POLL_INTERVAL_MS: "60000" });

describe("a sync request past its create's hold", () => {
  it("is answered by the `completed` webhook, with no poll", async () => {
    useWebhooks();
    const response = await POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: "[run:80] p" }));
    expect(response.status).toBe(200);
    expect((await response.json()).status).toBe("succeeded");
    expect(polls()).toBe(0);
    // Only the end was asked for (`webhook_events_filter: ["completed"]`): no `start` delivery.
    // (The simulator records a delivery once it is acknowledged, which may be after the answer.)
    const deliveries = () => sim.webhookDeliveries.map((delivery) => `${delivery.event} ${delivery.status}`);
    await expect.poll(deliveries).toEqual(["completed 200"]);
  });

  it("as a live stream, ends on the webhook too (its `done` is the terminal prediction)", async () => {
    useWebhooks();
    // A stream polls with GETs for logs every round: the webhook still ends it before the first.
    const response = await POST(
      jsonPost(`${APP}/api/ai/replicate`, { prompt: "[run:80] p" }, { headers: { accept: "text/event-stream" } }),
    );
    const events = [];
    for await (const event of readSseEvents(response.body!)) events.push(event);
    expect(events.at(-1)!.event).toBe("done");
    expect(JSON.parse(events.at(-1)!.data).status).toBe("succeeded");
    expect(polls()).toBe(0);
  });

  it("carries no webhook without REPLICATE_WEBHOOK_URL (polling alone)", async () => {
    setEnv({ REPLICATE_POLL_INTERVAL_MS: "10" });
    const response = await POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: "[run:40] p" }));
    expect(response.status).toBe(200);
    expect(sim.webhookDeliveries).toHaveLength(0);
    expect(polls()).toBeGreaterThan(0);
  });
});
