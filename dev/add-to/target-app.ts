/**
 * What `npm run add-to` needs to know of the app it adds the route to: where its code lives (with
 * or without `src/`), the import alias that names that folder (from its tsconfig's `paths`), and
 * whether Cache Components is on (then route segment config such as `dynamic` is refused).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

export interface TargetApp {
  dir: string;
  /** The folder its code lives in, relative to `dir`: "src" or "" (the root). */
  codeRoot: string;
  /** Its App Router folder, relative to `dir`: "src/app" or "app". */
  appDir: string;
  /** The alias prefix that names `codeRoot` (e.g. "@/" or "~/"), or null: then imports are written relative. */
  alias: string | null;
  /** nextConfig.cacheComponents is on: route segment config (`dynamic`, `revalidate`...) must go. */
  cacheComponents: boolean;
}

/** A reason not to touch the app, said to the user as it is. */
export class AddToRefusal extends Error {}

const NEXT_CONFIGS = ["next.config.ts", "next.config.mts", "next.config.js", "next.config.mjs", "next.config.cjs"];

function isDir(file: string): boolean {
  return existsSync(file) && statSync(file).isDirectory();
}

export function inspectTarget(dir: string): TargetApp {
  if (!isDir(dir)) throw new AddToRefusal(`${dir} is not a folder.`);
  const pkgFile = path.join(dir, "package.json");
  if (!existsSync(pkgFile)) throw new AddToRefusal(`${dir} has no package.json: give the folder of a Next.js app.`);
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  if (!pkg.dependencies?.next && !pkg.devDependencies?.next)
    throw new AddToRefusal(`${dir} does not depend on next: it is not a Next.js app.`);

  const codeRoot = isDir(path.join(dir, "src/app")) ? "src" : isDir(path.join(dir, "app")) ? "" : null;
  if (codeRoot === null) {
    const pages = ["src/pages", "pages"].find((name) => isDir(path.join(dir, name)));
    throw new AddToRefusal(
      pages
        ? `${dir} uses the Pages Router only (${pages}/, no app/ or src/app/). The route is an App Router route handler: ` +
            `create an app/ folder beside ${pages}/ (both routers work side by side in one app), then run add-to again.`
        : `${dir} has no app/ or src/app/ folder: the route needs the App Router.`,
    );
  }
  if (!existsSync(path.join(dir, "tsconfig.json"))) {
    throw new AddToRefusal(
      `${dir} has no tsconfig.json: the route is TypeScript (run \`npx tsc --init\` or add TypeScript to the app first).`,
    );
  }
  return {
    dir,
    codeRoot,
    appDir: path.posix.join(codeRoot, "app"),
    alias: aliasOf(dir, codeRoot),
    cacheComponents: hasCacheComponents(dir),
  };
}

/** The `paths` entry `X/*` -> [`<codeRoot>/*`] of the app's tsconfig.json, as "X/"; null when it has none. */
export function aliasOf(dir: string, codeRoot: string): string | null {
  const file = path.join(dir, "tsconfig.json");
  const { config, error } = ts.parseConfigFileTextToJson(file, readFileSync(file, "utf8"));
  if (error || !config) return null;
  const options = (config.compilerOptions ?? {}) as { baseUrl?: string; paths?: Record<string, string[]> };
  const base = path.resolve(dir, options.baseUrl ?? ".");
  const wanted = path.resolve(dir, codeRoot);
  for (const [pattern, targets] of Object.entries(options.paths ?? {})) {
    if (!pattern.endsWith("/*") || !Array.isArray(targets)) continue;
    if (targets.some((target) => target.endsWith("/*") && path.resolve(base, target.slice(0, -2)) === wanted))
      return pattern.slice(0, -1);
  }
  return null;
}

function hasCacheComponents(dir: string): boolean {
  const config = NEXT_CONFIGS.map((name) => path.join(dir, name)).find((file) => existsSync(file));
  if (!config) return false;
  // A text test, not an import: the config may need the app's own packages to load.
  return /\bcacheComponents\s*:\s*true\b/.test(readFileSync(config, "utf8"));
}
