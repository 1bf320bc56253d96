/**
 * A second Node process racing the test on the same Redis: it connects, prints "ready", waits for
 * "go" on stdin, then runs its operations at once and prints their answers as one JSON line.
 * Run with `node --conditions=react-server --import tsx` (so `server-only` resolves to nothing).
 *   args: <redis url> <key prefix> <operation: rate | idempotency | spend> <count> <now>
 */
import { createInterface } from "node:readline";
import { RedisConnection } from "@/lib/server/shared-state/redis-connection";
import { redisSharedState } from "@/lib/server/shared-state/shared-state";

const [url, keyPrefix, operation, countText, nowText] = process.argv.slice(2);
const state = redisSharedState(new RedisConnection({ url, keyPrefix }));
const count = Number(countText);
const now = Number(nowText);
const rule = { limit: 3, windowMs: 60_000, text: "3/min" };

const budget = { key: "caller:racer", limitMs: 3500, windowMs: 86_400_000 };
const run = (): Promise<unknown>[] =>
  Array.from({ length: count }, async (_, i) => {
    if (operation === "rate") return state.rateLimits.take("id:racer", rule, now);
    if (operation === "spend") return state.spend.reserve(`racer-${process.pid}-${i}`, [budget], 1000, now);
    return state.idempotency.begin("racer-key", "body-hash", now);
  });

// Connect first (a throwaway read), so the race starts when both processes are ready.
await state.deliveryIds.firstTime(`warm-up-${process.pid}`);
process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== "go") continue;
  process.stdout.write(`${JSON.stringify(await Promise.all(run()))}\n`);
  break;
}
await state.close();
