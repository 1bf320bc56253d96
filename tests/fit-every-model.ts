/**
 * `npm run test:fit-every-model` (CI runs it after `npm test`): fitting never breaks the project,
 * proved on the real tree. For each simulated model, `npm run model -- owner/name` (the CLI itself,
 * against the simulator on a free port) rewrites app/api/ai/replicate/schema.ts; then the whole
 * project is type-checked (`tsc --noEmit`, what `next build` checks too) and a representative part of
 * the unit suite runs: the tests that type their bodies against the page's body type or read
 * schema.ts itself (REPRESENTATIVE). The rest of the unit suite reaches schema.ts only through the
 * seed fixture vitest.config.ts puts in its place, so it cannot tell one model from another; running
 * it five times would add minutes to CI for nothing. schema.ts is restored whatever happens (an
 * error, Ctrl-C). Not a vitest file: it rewrites a source file other test files read, so it runs
 * alone, after them.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT, SIMULATED_TOKEN } from "@/dev/app-harness";
import { DEFAULT_OUT, runCli } from "@/dev/fit-model/cli";
import { SIMULATED_MODELS } from "@/dev/simulator/models";
import { startSimulatorServer } from "@/dev/simulator/server";

const SCHEMA_FILE = path.join(PROJECT_ROOT, DEFAULT_OUT);
const REPRESENTATIVE = [
  "tests/browser-form-helpers.test.ts",
  "tests/browser-multipart.test.ts",
  "tests/browser-route-calls.test.ts",
  "tests/browser-run-state.test.ts",
  "tests/browser-watch-prediction.test.ts",
  "tests/fit-model.test.ts",
  "tests/route.test.ts",
  "tests/schema-route.test.ts",
];

const original = readFileSync(SCHEMA_FILE, "utf8");
const restore = () => writeFileSync(SCHEMA_FILE, original);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    restore();
    process.exit(130);
  });
}

async function main(): Promise<number> {
  const simulator = await startSimulatorServer({ runMs: 20, bootMs: 5 });
  const failures: string[] = [];
  try {
    for (const model of SIMULATED_MODELS) {
      const name = `${model.owner}/${model.name}`;
      const started = Date.now();
      const output: string[] = [];
      const code = await runCli([name], {
        env: { REPLICATE_API_TOKEN: SIMULATED_TOKEN, REPLICATE_API_BASE_URL: simulator.baseUrl },
        cwd: PROJECT_ROOT,
        stdout: (line) => output.push(line),
        stderr: (line) => output.push(line),
      });
      if (code !== 0) {
        failures.push(`${name}: npm run model failed:\n${output.join("\n")}`);
        continue;
      }
      const typeCheck = run("npx", ["tsc", "--noEmit"]);
      if (typeCheck.status !== 0) failures.push(`${name}: tsc --noEmit failed:\n${typeCheck.output}`);
      const tests = run("npx", ["vitest", "run", "--project", "unit", ...REPRESENTATIVE]);
      if (tests.status !== 0) failures.push(`${name}: the unit tests failed:\n${tests.output}`);
      const verdict = typeCheck.status === 0 && tests.status === 0 ? "ok" : "FAILED";
      console.log(
        `${verdict}  ${name}: type-check and ${REPRESENTATIVE.length} unit test files (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
  } finally {
    restore();
    await simulator.close();
  }
  if (readFileSync(SCHEMA_FILE, "utf8") !== original) failures.push(`${DEFAULT_OUT} was not restored.`);
  for (const failure of failures) console.error(`\n${failure}`);
  return failures.length === 0 ? 0 : 1;
}

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: PROJECT_ROOT, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-40).join("\n") };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    restore();
    console.error(error);
    process.exit(1);
  },
);
