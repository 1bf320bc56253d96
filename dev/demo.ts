/**
 * `npm run demo`: the app as it runs in production (`next build` + `next start`), talking to the
 * simulated Replicate instead of the real one. Only the base URL and the token differ, so what
 * you see is what the route does. `--no-build` reuses the last build.
 */
import {
  freePort,
  hasProductionBuild,
  isPortFree,
  runNextBuild,
  simulatedReplicateEnv,
  startNextServer,
  type NextServer,
} from "./app-harness";
import { startSimulatorServer } from "./simulator/server";

// Slow enough to watch the progress bar move, fast enough not to bore.
const SIMULATED_RUN_MS = 4000;
const SIMULATED_BOOT_MS = 800;
const PREFERRED_SIMULATOR_PORT = 4010;

async function main() {
  const skipBuild = process.argv.includes("--no-build");
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`PORT must be a port number, got ${process.env.PORT}`);

  if (!skipBuild) {
    console.log("Building the app (next build; skip with --no-build)…");
    runNextBuild({ inheritOutput: true });
  } else if (!hasProductionBuild()) {
    throw new Error("No production build in .next: run `npm run demo` without --no-build once.");
  }

  const simulator = await startSimulatorServer({
    port: await simulatorPort(),
    runMs: SIMULATED_RUN_MS,
    bootMs: SIMULATED_BOOT_MS,
  });
  let server: NextServer | undefined;
  let stopping = false;
  const stop = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    console.log("\nStopping the app and the simulated Replicate…");
    await server?.stop();
    await simulator.close();
    process.exit(exitCode);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  try {
    server = await startNextServer({ port, env: simulatedReplicateEnv(simulator.baseUrl), hostname: null, inheritOutput: true });
  } catch (error) {
    await simulator.close();
    throw error;
  }
  server.process.once("exit", (code) => {
    if (!stopping) console.error(`next start exited (code ${code}).`);
    void stop(code ?? 1);
  });

  console.log(
    [
      "",
      `Demo running at http://localhost:${port} (simulated Replicate at ${simulator.baseUrl}). Ctrl-C stops both.`,
      "Steer the simulated model from the prompt: [fail] fails, [never] never ends (try Cancel),",
      "[run:1500] sets the run time in ms, [refiner] adds a refiner pass, [text] answers as a language model.",
      "",
    ].join("\n"),
  );
}

/** 4010 when it is free (a stable URL to curl), any free port otherwise. */
async function simulatorPort(): Promise<number> {
  return (await isPortFree(PREFERRED_SIMULATOR_PORT)) ? PREFERRED_SIMULATOR_PORT : freePort();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
