// `npm run add-to -- <path to a Next.js app> [--page <path>] [--force]` (add-to.ts says what it does).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runAddTo } from "./add-to";

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

process.exitCode = runAddTo(
  process.argv.slice(2),
  { stdout: (line) => console.log(line), stderr: (line) => console.error(line), cwd: process.env.INIT_CWD ?? process.cwd() },
  PROJECT_ROOT,
);
