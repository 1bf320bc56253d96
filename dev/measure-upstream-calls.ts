/**
 * What DELETEs and event-stream followers of one prediction cost upstream, under load, on
 * loopback: the route handlers run in this process (as `next start` runs them), the simulated
 * Replicate is an HTTP server with Replicate's own limits (600 creates and 3,000 other calls a
 * minute, a burst of 50). Bounded: one burst of DELETEs, then `seconds` of followers.
 *
 *   npx tsx --conditions=react-server dev/measure-upstream-calls.ts [deletes=400] [followers=80] [seconds=10]
 *
 * Prints one JSON line: the upstream cancels (and 429s) the DELETEs caused, the upstream GETs the
 * followers caused in the window, and how late another caller's live view got its `done`.
 */
import { readSseEvents } from "@/lib/shared/sse";
import { simulatedReplicateEnv } from "./app-harness";
import { startSimulatorServer } from "./simulator/server";

const [deletes = 400, followers = 80, seconds = 10] = process.argv.slice(2).map(Number);
const APP = "http://127.0.0.1:3999";

const replicate = await startSimulatorServer({
  bootMs: 100,
  runMs: 3000,
  rateLimits: { createPerMinute: 600, otherPerMinute: 3000, burst: 50 },
});
const { sim } = replicate;
// The documented defaults: polls every second, 2,400 calls a minute for the whole account.
Object.assign(process.env, simulatedReplicateEnv(replicate.baseUrl), { REPLICATE_MAX_IN_FLIGHT: "100000" });
const { POST } = await import("@/app/api/ai/replicate/route");
const { GET, DELETE } = await import("@/app/api/ai/replicate/[id]/route");

const post = (prompt: string, headers: Record<string, string>) =>
  POST(
    new Request(`${APP}/api/ai/replicate`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ prompt }),
    }),
  );
const byHandle = (handler: typeof GET, handle: string, init: RequestInit = {}) =>
  handler(new Request(`${APP}/api/ai/replicate/${handle}`, init), { params: Promise.resolve({ id: handle }) });

async function startAsync(prompt: string): Promise<string> {
  const response = await post(prompt, { prefer: "respond-async" });
  if (response.status !== 202) throw new Error(`create answered ${response.status}: ${await response.text()}`);
  return response.headers.get("location")!.split("/").at(-1)!;
}

/** Reads an event stream to its end; resolves with the epoch ms of its `done` (or null). */
async function doneAt(response: Response): Promise<number | null> {
  let at: number | null = null;
  try {
    for await (const event of readSseEvents(response.body!)) if (event.event === "done") at = Date.now();
  } catch {
    // aborted at the end of the window
  }
  return at;
}

// ---- N DELETEs of one handle, all at once ----------------------------------------------------
const target = await startAsync("[never] delete me");
const cancelsBefore = sim.count("cancel");
const deleteStart = Date.now();
const deleteStatuses = await Promise.all(
  Array.from({ length: deletes }, () => byHandle(DELETE, target, { method: "DELETE" }).then((r) => r.status)),
);
const deleteMs = Date.now() - deleteStart;
const cancels = sim.count("cancel") - cancelsBefore;
const rateLimited = sim.requests.filter((request) => request.kind === "cancel" && request.status === 429).length;

// ---- N event-stream followers of one handle for `seconds`, beside another caller's live view ----
const followed = await startAsync(`[run:${(seconds + 5) * 1000}] followed`);
const getsBefore = sim.count("get");
const windowStart = Date.now();
const stop = new AbortController();
const follows = Array.from({ length: followers }, () =>
  byHandle(GET, followed, { headers: { accept: "text/event-stream" }, signal: stop.signal }).then(doneAt),
);
// Another caller's live view of a prediction that ends mid-window: how late its `done` comes.
const other = post(`[run:${Math.round((seconds * 1000) / 2)}] another caller`, { accept: "text/event-stream" });
const otherResponse = await other;
const otherDone = doneAt(otherResponse);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const gets = sim.count("get") - getsBefore;
stop.abort();
await Promise.allSettled(follows);
const otherDoneAt = await otherDone;
const otherId = [...sim.predictions.values()].find((prediction) => prediction.plan.prompt?.includes("another caller"))?.id;
const otherEnd = otherId ? sim.get(otherId)?.finishedAt : undefined;

console.log(
  JSON.stringify({
    deletes,
    delete_statuses: count(deleteStatuses),
    upstream_cancels: cancels,
    upstream_cancels_429: rateLimited,
    deletes_ms: deleteMs,
    followers,
    window_s: (Date.now() - windowStart) / 1000,
    upstream_gets_in_window: gets,
    other_live_view_done_lag_ms: otherDoneAt && otherEnd ? otherDoneAt - otherEnd : null,
  }),
);
await replicate.close();
process.exit(0);

function count(values: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
