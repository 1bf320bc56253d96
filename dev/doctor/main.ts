// `npm run doctor [--run]`: the environment loaded as `next start` loads it (.env.production.local,
// .env.local, .env.production, .env; the shell wins), schema.ts imported as the route imports it.
// Run with node's react-server condition (see package.json), as the route's server-only modules need.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import nextEnv from "@next/env";
import { runDoctor } from "./doctor";

const USAGE = `Usage: npm run doctor [-- --run]

Checks the setup the route would run with: configuration, token, model, schema.ts, Redis,
output storage, webhooks. One line a check (ok / warn / fail); exits 1 on any fail.
  --run   also run one real prediction with schema.ts's example input (Replicate bills it)`;

const { values } = parseArgs({ options: { run: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

nextEnv.loadEnvConfig(process.cwd(), false, { info: () => {}, error: (...args: unknown[]) => console.error(...args) });
const schemaFile = path.join(process.cwd(), "app/api/ai/replicate/schema.ts");
const [schemaText, schema] = await Promise.all([readFile(schemaFile, "utf8"), import("@/app/api/ai/replicate/schema")]);

process.exitCode = await runDoctor({
  env: process.env,
  schemaText,
  schema,
  run: values.run === true,
  print: (line) => console.log(line),
});
// Keep-alive sockets of the transport would hold the process open.
process.exit(process.exitCode);
