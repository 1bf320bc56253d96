import { parseArgs } from "node:util";
import { startSimulatorServer } from "./server";
import { TIDY } from "./untidiness";

/**
 * npx tsx dev/simulator/cli.ts --port 4010 [--run-ms 3000] [--boot-ms 300] [--latency-ms 0] [--tidy] [--data-urls]
 * (--tidy: none of production's untidiness, see untidiness.ts; --low-credit: 6 creates a minute;
 * --data-urls: held creates answer image files as data URLs, as in autumn 2024)
 */

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "4010" },
    "run-ms": { type: "string" },
    "boot-ms": { type: "string" },
    "latency-ms": { type: "string" },
    tidy: { type: "boolean", default: false },
    "low-credit": { type: "boolean", default: false },
    "data-urls": { type: "boolean", default: false },
  },
});

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got "${value}"`);
    process.exit(2);
  }
  return n;
}

const server = await startSimulatorServer({
  ...(values.tidy ? TIDY : {}),
  lowCredit: values["low-credit"],
  ...(values["data-urls"] ? { syncDataUrls: true } : {}),
  port: numberOption("port", values.port),
  runMs: numberOption("run-ms", values["run-ms"]),
  bootMs: numberOption("boot-ms", values["boot-ms"]),
  latencyMs: numberOption("latency-ms", values["latency-ms"]),
});
console.log(`Simulated Replicate on ${server.baseUrl} (token: ${server.sim.config.token})`);

const stop = () => void server.close().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
