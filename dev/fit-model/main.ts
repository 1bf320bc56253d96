// `npm run model`: Next.js's own loader reads .env.local / .env (as `next dev` does) without
// overriding what the shell already set; its "Loaded env from" line is left out.
import nextEnv from "@next/env";
import { runCli } from "./cli";

nextEnv.loadEnvConfig(process.cwd(), true, { info: () => {}, error: (...args: unknown[]) => console.error(...args) });

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
});
