import { http } from "msw";
import { describe, expect, it, onTestFinished } from "vitest";
import { DELETE, GET } from "@/app/api/ai/replicate/[id]/route";
import { POST } from "@/app/api/ai/replicate/route";
import { POST as webhook } from "@/app/api/ai/replicate/webhook/route";
import { readSseEvents, type SseEvent } from "@/lib/shared/sse";
import { handleOf, jsonPost, setEnv, useSimulatedReplicate } from "@/tests/support/route-env";
import { advance, advanceUntil, settle, useFakeClock } from "@/tests/support/fake-clock";
import { deliveredStore } from "@/tests/support/test-engine";

const { sim, server } = useSimulatedReplicate({ bootMs: 10, runMs: 150 });
const APP = "http://app.test";
// Fake time: "while running" and "leaving does not cancel" hold however busy the machine is.
useFakeClock();

const start = (prompt: string) => POST(jsonPost(`${APP}/api/ai/replicate`, { prompt }, { headers: { prefer: "respond-async" } }));

/** GET or DELETE of a prediction by the handle its create answered (what `Location` names). */
const byId = (handler: typeof GET, id: string, init: RequestInit = {}) => byHandle(handler, handleOf(id), init);
const byHandle = (handler: typeof GET, handle: string, init: RequestInit = {}) =>
  handler(new Request(`${APP}/api/ai/replicate/${encodeURIComponent(handle)}`, init), {
    params: Promise.resolve({ id: handle }),
  });

async function events(response: Response): Promise<SseEvent[]> {
  const all: SseEvent[] = [];
  for await (const event of readSseEvents(response.body!)) all.push(event);
  return all;
}

describe("Prefer: respond-async", () => {
  it("answers 202 at once with Location and the prediction, without holding the create", async () => {
    const response = await settle(start("[never] slow one"));
    expect(response.status).toBe(202);
    const body = await response.json();
    expect(response.headers.get("location")).toBe(`/api/ai/replicate/${handleOf(body.id)}`);
    expect(body.status).toBe("starting");
    expect(sim.requests.map((r) => r.kind)).toEqual(["create"]);
    expect(sim.requests[0].headers.prefer).toBeUndefined();
  });

  it("validates as usual", async () => {
    const response = await settle(
      POST(jsonPost(`${APP}/api/ai/replicate`, { prompt: "" }, { headers: { prefer: "respond-async" } })),
    );
    expect(response.status).toBe(400);
    expect(sim.requests).toHaveLength(0);
  });
});

describe("GET /api/ai/replicate/{id}", () => {
  it("answers 202 with Retry-After while running, then 200 when succeeded", async () => {
    const { id } = await settle(start("[run:100] p").then((response) => response.json()));
    const running = await settle(byId(GET, id));
    expect(running.status).toBe(202);
    expect(running.headers.get("retry-after")).toBe("1");
    await advanceUntil(() => sim.get(id)!.isTerminal(), 3000);
    const done = await settle(byId(GET, id));
    expect(done.status).toBe(200);
    expect((await done.json()).status).toBe("succeeded");
  });

  it("answers 500 when the prediction failed", async () => {
    const { id } = await settle(start("[fail] p").then((response) => response.json()));
    await advanceUntil(() => sim.get(id)!.isTerminal(), 3000);
    const response = await settle(byId(GET, id));
    expect(response.status).toBe(500);
    expect((await response.json()).status).toBe("failed");
  });

  it.each(["../../v1/account", "abc", "ABCDEFGHIJ", "x".repeat(65), "abcdefgh?x=1", "https://evil.test/x"])(
    "answers 400 for the malformed id %j and calls nothing",
    async (id) => {
      const response = await settle(byId(GET, id));
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ status: 400, title: expect.any(String) });
      expect(sim.requests).toHaveLength(0);
    },
  );

  it("passes Replicate's 404 on for an unknown id", async () => {
    const response = await settle(byId(GET, "unknownid0000000"));
    expect(response.status).toBe(404);
  });

  it("answers 404 for any prediction this app did not start for this caller: a bare id, a forged handle, another caller's", async () => {
    const id = (await (await settle(start("[never] mine"))).json()).id as string;
    const strangers = [id, `${id}.AAAAAAAAAAAAAAAAAAAAAA`, handleOf(id, { identity: "user:someone-else" })];
    for (const handle of strangers) {
      for (const handler of [GET, DELETE]) {
        const response = await byHandle(handler, handle, { method: handler === GET ? "GET" : "DELETE" });
        expect(response.status).toBe(404);
        expect(await response.json()).toMatchObject({ title: "Prediction not found", status: 404 });
      }
    }
    expect(sim.count("get") + sim.count("cancel")).toBe(0);
    expect(sim.get(id)!.status()).not.toBe("canceled");
  });
});

describe("DELETE /api/ai/replicate/{id}", () => {
  it("cancels upstream and answers the prediction", async () => {
    const { id } = await settle(start("[never] p").then((response) => response.json()));
    const response = await settle(byId(DELETE, id, { method: "DELETE" }));
    expect(response.status).toBe(200);
    expect((await response.json()).status).toBe("canceled");
    expect(sim.get(id)!.status()).toBe("canceled");
  });
});

describe("re-attaching with the event stream", () => {
  it("follows a running prediction; leaving does not cancel it, and a second attach sees it end", async () => {
    sim.config.runMs = 300;
    const { id } = await settle(start("p").then((response) => response.json()));
    const controller = new AbortController();
    const first = await settle(byId(GET, id, { headers: { accept: "text/event-stream" }, signal: controller.signal }));
    const reader = first.body!.getReader();
    await settle(reader.read());
    await settle(reader.cancel()); // the page reloads
    await advance(100); // 20 poll intervals of fake time: a cancel the leaving set off would have been sent
    expect(sim.count("cancel")).toBe(0);

    const second = await settle(byId(GET, id, { headers: { accept: "text/event-stream" } }).then(events));
    sim.config.runMs = 150;
    expect(second[0]).toMatchObject({ event: "status" });
    expect(second.at(-1)!.event).toBe("done");
    expect(JSON.parse(second.at(-1)!.data).status).toBe("succeeded");
    expect(second.filter((e) => e.event === "progress").length).toBeGreaterThan(0);
  });

  it("ends a follow at the cap with the running prediction, and cancels nothing", async () => {
    setEnv({ REPLICATE_TIMEOUT_SECONDS: "0.1" });
    const { id } = await settle(start("[never] p").then((response) => response.json()));
    const all = await settle(byId(GET, id, { headers: { accept: "text/event-stream" } }).then(events));
    expect(JSON.parse(all.at(-1)!.data).status).toBe("processing");
    await advance(100);
    expect(sim.count("cancel")).toBe(0);
  });
});

describe("async mode with webhooks, start to finish", () => {
  it("creates with a webhook, receives the signed deliveries, and answers GET from them", async () => {
    setEnv({ REPLICATE_WEBHOOK_URL: APP, REPLICATE_WEBHOOK_SECRET: "" });
    deliveredStore().clear();
    // The simulated Replicate delivers to the app's webhook route.
    server.use(http.post(`${APP}/api/ai/replicate/webhook`, ({ request }) => webhook(request)));
    const { id } = await settle(start("[run:50] p").then((response) => response.json()));
    await advanceUntil(() => sim.webhookDeliveries.some((d) => d.event === "completed" && d.status === 200), 3000);
    expect(sim.webhookDeliveries.map((d) => [d.event, d.status])).toEqual([
      ["start", 200],
      ["completed", 200],
    ]);
    const response = await settle(byId(GET, id));
    expect(response.status).toBe(200);
    expect((await response.json()).status).toBe("succeeded");
    expect(sim.count("get")).toBe(0);
  });
});

describe("a prediction whose data Replicate removed (retention)", () => {
  it("is answered as Replicate has it: succeeded, data_removed: true, output null", async () => {
    onTestFinished(sim.override({ retentionMs: 1_000 }));
    const started = await settle(start("gone later"));
    const id = ((await started.json()) as { id: string }).id;
    await advanceUntil(() => sim.get(id)!.status() === "succeeded");
    await advance(1_500);
    const response = await settle(byId(GET, id));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id, status: "succeeded", data_removed: true, output: null });
  });
});
