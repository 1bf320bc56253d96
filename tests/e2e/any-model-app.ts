/**
 * The app fitted to another model, for the browser test: a copy of the app's sources in
 * .tmp/any-model/<name>/ (git-ignored; `node_modules` resolves from the project's, three folders
 * up, so nothing is linked), its schema.ts written there by `npm run model`, then `next build
 * <dir>` and `next start <dir>`. The project's own app/api/ai/replicate/schema.ts is never touched.
 *
 * The copy's next.config.ts is the project's with the type check off: tests/fit-model.test.ts
 * type-checks every generated schema.ts, and it saves ~20 s a build. A build is skipped when the
 * sources and the generated schema are the ones it was made from (E2E_BUILD=1 always builds).
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runCli } from "@/dev/fit-model/cli";
import { PROJECT_ROOT, runNextBuild, SIMULATED_TOKEN } from "@/dev/app-harness";

const ROOT = path.join(PROJECT_ROOT, ".tmp/any-model");
const COPIED_DIRS = ["app", "lib", "public"];
const COPIED_FILES = ["tsconfig.json", "package.json"];
const SCHEMA = "app/api/ai/replicate/schema.ts";

const CONFIG_START = "const nextConfig: NextConfig = {";

/** The project's next.config.ts with `typescript.ignoreBuildErrors` (Next cannot import it from the copy). */
function copyConfig(): string {
  const config = readFileSync(path.join(PROJECT_ROOT, "next.config.ts"), "utf8");
  if (!config.includes(CONFIG_START)) throw new Error(`next.config.ts no longer has "${CONFIG_START}": update any-model-app.ts`);
  return config.replace(
    CONFIG_START,
    `${CONFIG_START}\n  typescript: { ignoreBuildErrors: true }, // the copy for tests/e2e/any-model.e2e.test.ts`,
  );
}

/**
 * The app's copy for `target` (owner/name[:version]) with the schema.ts `npm run model` writes from
 * the simulated Replicate at `baseUrl`, built; returns its folder, to start with `next start`.
 */
export async function buildAppFor(target: string, baseUrl: string, log: (line: string) => void): Promise<string> {
  const dir = path.join(ROOT, target.split(":")[0].replace("/", "+"));
  mkdirSync(dir, { recursive: true });
  for (const name of COPIED_DIRS) {
    rmSync(path.join(dir, name), { recursive: true, force: true });
    cpSync(path.join(PROJECT_ROOT, name), path.join(dir, name), { recursive: true });
  }
  for (const name of COPIED_FILES) cpSync(path.join(PROJECT_ROOT, name), path.join(dir, name));
  const config = copyConfig();
  writeFileSync(path.join(dir, "next.config.ts"), config);

  const lines: string[] = [];
  const code = await runCli([target, "--out", path.join(dir, SCHEMA)], {
    env: { REPLICATE_API_TOKEN: SIMULATED_TOKEN, REPLICATE_API_BASE_URL: baseUrl },
    cwd: dir,
    stdout: (line) => lines.push(line),
    stderr: (line) => lines.push(line),
  });
  if (code !== 0) throw new Error(`npm run model -- ${target} failed:\n${lines.join("\n")}`);

  const stamp = sourceStamp(config, readFileSync(path.join(dir, SCHEMA), "utf8"));
  const stampFile = path.join(dir, ".source-stamp");
  const built =
    existsSync(path.join(dir, ".next/BUILD_ID")) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp;
  if (!built || process.env.E2E_BUILD === "1") {
    log(`next build for ${target}…`);
    rmSync(stampFile, { force: true });
    runNextBuild({ dir });
    writeFileSync(stampFile, stamp);
  }
  return dir;
}

/** A digest of the project's sources (as copied) and the generated schema: what a build is made from. */
function sourceStamp(config: string, schema: string): string {
  const hash = createHash("sha256").update(config).update(schema);
  const files = [
    ...COPIED_DIRS.flatMap((name) => filesUnder(path.join(PROJECT_ROOT, name))),
    ...COPIED_FILES.map((name) => path.join(PROJECT_ROOT, name)),
  ];
  for (const file of files) hash.update(path.relative(PROJECT_ROOT, file)).update(readFileSync(file));
  return hash.digest("hex");
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? filesUnder(full) : [full];
    });
}
