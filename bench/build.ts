import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { FLOOR_APP_DIR } from "./ways/floor";
import { NEXT_BIN, PROJECT_ROOT } from "./ways/way";

/** `next build` of the project and of the floor app, unless --no-build finds both already built. */
export function buildApps(wanted: boolean, log: (line: string) => void): void {
  const apps = [
    { name: "the app", dir: PROJECT_ROOT, args: ["build"] },
    { name: "the floor app", dir: FLOOR_APP_DIR, args: ["build", FLOOR_APP_DIR] },
  ];
  for (const app of apps) {
    const built = existsSync(path.join(app.dir, ".next/BUILD_ID"));
    if (built && !wanted) {
      log(`Reusing the build of ${app.name} (--no-build).`);
      continue;
    }
    log(`next build of ${app.name}…`);
    const result = spawnSync(process.execPath, [NEXT_BIN, ...app.args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (result.status !== 0) {
      const output = `${result.stdout}\n${result.stderr}`.trimEnd().split("\n").slice(-40).join("\n");
      throw new Error(`next build of ${app.name} failed (exit ${result.status}):\n${output}`);
    }
  }
}
