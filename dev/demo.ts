/**
 * `npm run demo`: the app as it runs in production (`next build` + `next start`), talking to the
 * simulated Replicate instead of the real one. Only the base URL and the token differ, so what
 * you see is what the route does. `--no-build` reuses the last build.
 *
 * It runs the model app/api/ai/replicate/schema.ts was fitted to (its `generatedFrom`), when the
 * simulator serves it; for any other model it says how to run the app against Replicate itself.
 * The model settings of .env.local (`npm run model --write-env`) are overridden, never mixed in.
 */
import path from "node:path";
import {
  freePort,
  hasProductionBuild,
  isPortFree,
  PROJECT_ROOT,
  runNextBuild,
  simulatedReplicateEnv,
  startNextServer,
  type NextServer,
} from "./app-harness";
import { demoTarget } from "./demo-target";
import { DEFAULT_OUT } from "./fit-model/cli";
import { readGeneratedFrom } from "./fit-model/generated-from";
import { startSimulatorServer } from "./simulator/server";

// Slow enough to watch the progress bar move, fast enough not to bore.
const SIMULATED_RUN_MS = 4000;
const SIMULATED_BOOT_MS = 800;
const PREFERRED_SIMULATOR_PORT = 4010;

async function main() {
  const skipBuild = process.argv.includes("--no-build");
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`PORT must be a port number, got ${process.env.PORT}`);
  const from = await readGeneratedFrom(path.join(PROJECT_ROOT, DEFAULT_OUT));
  const target = demoTarget(from);
  if ("notServed" in target) {
    console.error(target.notServed);
    process.exit(1);
  }

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
    // Outputs are kept on disk (.data/outputs), so the page still shows them after the simulator deletes its own.
    const env = simulatedReplicateEnv(simulator.baseUrl, {
      OUTPUT_STORAGE: process.env.OUTPUT_STORAGE ?? "fs",
      ...target.env,
    });
    server = await startNextServer({ port, env, hostname: null, inheritOutput: true });
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
      `It runs ${target.label}, the model ${DEFAULT_OUT} is fitted to.`,
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
