// `npm run docs:config`: rewrites docs/configuration.md and .env.example from the zod schemas that
// parse the environment (dev/config-reference/config-reference.ts says how). `--check` writes
// nothing and exits 1 when either file is stale.

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CONFIG_COMMAND, configReferenceFiles } from "./config-reference";

const root = fileURLToPath(new URL("../../", import.meta.url));
const check = process.argv.includes("--check");
let stale = 0;
for (const { path, text } of configReferenceFiles()) {
  const file = root + path;
  let current = "";
  try {
    current = readFileSync(file, "utf8");
  } catch {
    // a missing file is stale
  }
  if (current === text) {
    console.log(`${path}: up to date`);
  } else if (check) {
    console.log(`${path}: stale (run \`${CONFIG_COMMAND}\`)`);
    stale += 1;
  } else {
    writeFileSync(file, text);
    console.log(`${path}: written`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
