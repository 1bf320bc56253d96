/**
 * `npm run add-to -- <app> [--page <path>] [--force]`: adds the Replicate route to an existing
 * Next.js App Router app. It copies what the route files under app/api/ai/replicate/ import (found by
 * following their imports, so nothing unused comes along), the demo page too with `--page`, adds the
 * packages those files import to the app's package.json and the variables to its .env.example.
 * It plans everything first and writes nothing when a file of the app would be overwritten (unless
 * `--force`); a second run finds nothing to do.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { placeFiles, type PlacedFile } from "./copy-plan";
import { appendMissingVariables } from "./env-example";
import { walkImports } from "./import-walk";
import { mergeDependencies, type DependencyMerge, type PackageJson } from "./package-merge";
import { AddToRefusal, inspectTarget, type TargetApp } from "./target-app";

export interface AddToIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Where a relative app path is resolved. */
  cwd: string;
}

const ROUTES_DIR = "app/api/ai/replicate";
const PAGE = "app/page.tsx";
/** The page's styles live in the root layout's stylesheet here; the copied page imports them itself. */
const PAGE_STYLES = "app/globals.css";
const PAGE_STYLES_COPY = "replicate-demo.css";
/**
 * Next's instrumentation file (OpenTelemetry for the route): copied, with what it imports, when the
 * app has none; an app's own is kept, and the output says how to add the route's.
 */
const INSTRUMENTATION = "instrumentation.ts";
const INSTRUMENTATION_NAMES = ["instrumentation.ts", "instrumentation.js", "instrumentation.mjs"];
/** The files a user edits to fit the route to their model and app (those of them that exist). */
const USER_FILES = [/^app\/api\/ai\/replicate\/schema\.ts$/, /\/on-prediction\.ts$/, /^lib\/replicate\.ts$/];

const USAGE = `Usage: npm run add-to -- <path to a Next.js app> [--page <path>] [--force]

Copies the Replicate route (${ROUTES_DIR}/ and what it imports) into an App Router app, adds the
packages it imports to the app's package.json and its variables to the app's .env.example.
  --page <path>   also copy the demo page, served at /<path>
  --force         overwrite files of the app that differ (without it, they are listed and nothing is written)`;

type FileStatus = "new" | "same" | "differs";
interface PlannedWrite {
  destination: string;
  text: string;
  status: FileStatus;
}

export interface AddToPlan {
  target: TargetApp;
  files: (PlacedFile & { status: FileStatus })[];
  dependencies: DependencyMerge;
  packageJson: PlannedWrite;
  envExample: PlannedWrite & { added: string[] };
  userFiles: string[];
  /** The app's own instrumentation file, kept in place of this project's; null when ours is copied or there is none. */
  theirInstrumentation: string | null;
}

/** The route files of this project, relative to its root. */
export function routeFiles(root: string): string[] {
  return (readdirSync(path.join(root, ROUTES_DIR), { recursive: true }) as string[])
    .map((file) => file.split(path.sep).join("/"))
    .filter((file) => /(^|\/)route\.[jt]sx?$/.test(file))
    .map((file) => `${ROUTES_DIR}/${file}`)
    .sort();
}

function statusOf(file: string, text: string): FileStatus {
  if (!existsSync(file)) return "new";
  return readFileSync(file, "utf8") === text ? "same" : "differs";
}

/** A `--page` path as a route segment path ("tools/replicate"), or a refusal. */
export function pagePathOf(raw: string): string {
  const normalized = path.posix.normalize(raw.replace(/^\/+|\/+$/g, ""));
  if (!normalized || normalized === "." || normalized.split("/").some((part) => part === ".." || part === "api")) {
    throw new AddToRefusal(`--page ${raw}: give a path under the app such as "replicate" (not the root, not under api/).`);
  }
  return normalized;
}

/** Everything add-to would write into the app at `dir`, and whether each write is new, the same or different. */
export function planAddTo(root: string, dir: string, options: { page?: string } = {}): AddToPlan {
  const target = inspectTarget(dir);
  const pagePath = options.page === undefined ? undefined : pagePathOf(options.page);
  const theirInstrumentation = instrumentationOf(root, dir, target, pagePath);
  const withInstrumentation = existsSync(path.join(root, INSTRUMENTATION)) && theirInstrumentation === null;
  const entries = [...routeFiles(root), ...(pagePath ? [PAGE] : []), ...(withInstrumentation ? [INSTRUMENTATION] : [])];
  const walk = walkImports(root, entries);
  const placed = placeFiles(root, walk.files, { target, pagePath });
  if (pagePath && existsSync(path.join(root, PAGE_STYLES))) {
    const styles = path.posix.join(target.appDir, pagePath, PAGE_STYLES_COPY);
    placed.push({
      source: PAGE_STYLES,
      destination: styles,
      text: readFileSync(path.join(root, PAGE_STYLES), "utf8"),
      adapted: [],
    });
    const page = placed.find((file) => file.source === PAGE)!;
    page.text = `import "./${PAGE_STYLES_COPY}";\n${page.text}`;
    page.adapted.push(`imports ${PAGE_STYLES_COPY} (this project's root layout styles)`);
  }
  const files = placed.map((file) => ({ ...file, status: statusOf(path.join(dir, file.destination), file.text) }));

  const ours = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as PackageJson;
  const pkgFile = path.join(dir, "package.json");
  const theirPkgText = readFileSync(pkgFile, "utf8");
  const dependencies = mergeDependencies(JSON.parse(theirPkgText) as PackageJson, ours, walk.packages);
  const indent = /^[ \t]+/m.exec(theirPkgText)?.[0] ?? "  ";
  const changesPackage = dependencies.added.length + dependencies.changed.length > 0;
  const packageJson: PlannedWrite = {
    destination: "package.json",
    text: changesPackage ? `${JSON.stringify(dependencies.pkg, null, indent)}\n` : theirPkgText,
    status: changesPackage ? "differs" : "same",
  };

  const envFile = path.join(dir, ".env.example");
  const theirEnv = existsSync(envFile) ? readFileSync(envFile, "utf8") : "";
  const env = appendMissingVariables(theirEnv, readFileSync(path.join(root, ".env.example"), "utf8"));
  const envExample = {
    destination: ".env.example",
    text: env.text,
    added: env.added,
    status: (env.added.length === 0 ? "same" : existsSync(envFile) ? "differs" : "new") as FileStatus,
  };

  const userFiles = files
    .filter((file) => USER_FILES.some((pattern) => pattern.test(file.source)))
    .map((file) => file.destination);
  return { target, files, dependencies, packageJson, envExample, userFiles, theirInstrumentation };
}

/** The app's own instrumentation file (where Next looks: beside app/), unless it is this project's as add-to writes it. */
function instrumentationOf(root: string, dir: string, target: TargetApp, pagePath: string | undefined): string | null {
  const theirs = INSTRUMENTATION_NAMES.map((name) => path.posix.join(target.codeRoot, name)).find((file) =>
    existsSync(path.join(dir, file)),
  );
  if (!theirs || !existsSync(path.join(root, INSTRUMENTATION))) return theirs ?? null;
  const [ours] = placeFiles(root, [INSTRUMENTATION], { target, pagePath });
  return theirs === ours.destination && readFileSync(path.join(dir, theirs), "utf8") === ours.text ? null : theirs;
}

/** Runs the command; resolves to its exit code. */
export function runAddTo(argv: string[], io: AddToIo, root: string): number {
  let args: { values: { page?: string; force?: boolean; help?: boolean }; positionals: string[] };
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { page: { type: "string" }, force: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    io.stderr(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.values.help) return (io.stdout(USAGE), 0);
  if (args.positionals.length !== 1) return (io.stderr(USAGE), 2);
  const dir = path.resolve(io.cwd, args.positionals[0]);

  let plan: AddToPlan;
  try {
    plan = planAddTo(root, dir, { page: args.values.page });
  } catch (error) {
    if (error instanceof AddToRefusal) return (io.stderr(`add-to: ${error.message}`), 1);
    throw error;
  }
  const shown = path.relative(io.cwd, dir) || ".";
  const differing = [...plan.files.filter((file) => file.status === "differs").map((file) => file.destination)];
  if (differing.length > 0 && !args.values.force) {
    io.stderr(`add-to: these files of ${shown} would be overwritten, so nothing was written:`);
    for (const file of differing) io.stderr(`  ${file}`);
    io.stderr("Move them aside (or compare them with this project's), or run again with --force to overwrite them.");
    return 1;
  }
  const writes: PlannedWrite[] = [...plan.files, plan.packageJson, plan.envExample].filter((write) => write.status !== "same");
  if (writes.length === 0) {
    io.stdout(
      `Nothing to do: ${shown} already has the route as this project has it (${plan.files.length} files, its packages and variables).`,
    );
    return 0;
  }
  for (const write of writes) {
    const file = path.join(dir, write.destination);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, write.text);
  }
  report(plan, shown, io);
  return 0;
}

function report(plan: AddToPlan, shown: string, io: AddToIo): void {
  const { target, files, dependencies, envExample } = plan;
  const created = files.filter((file) => file.status === "new");
  const overwritten = files.filter((file) => file.status === "differs");
  const byFolder = new Map<string, number>();
  for (const file of created) {
    const folder = file.destination
      .split("/")
      .slice(0, file.destination.startsWith(target.appDir) ? target.appDir.split("/").length + 1 : target.codeRoot ? 3 : 2)
      .join("/");
    byFolder.set(folder, (byFolder.get(folder) ?? 0) + 1);
  }
  io.stdout(`Added the Replicate route to ${shown}:`);
  if (created.length > 0) {
    io.stdout(`  ${created.length} new files: ${[...byFolder].map(([folder, count]) => `${folder}/ (${count})`).join(", ")}`);
  }
  for (const file of overwritten) io.stdout(`  overwrote ${file.destination} (--force)`);
  const imports = target.alias
    ? `imports through its alias ${target.alias}`
    : "imports written relative (no tsconfig alias names its code folder)";
  if (files.length > 0) io.stdout(`  ${imports}`);
  // One line per adaptation, naming the files it was made in.
  const notes = new Map<string, string[]>();
  for (const file of files)
    for (const note of file.adapted) if (file.status !== "same") notes.set(note, [...(notes.get(note) ?? []), file.destination]);
  for (const [note, where] of notes) io.stdout(`  ${where.join(", ")}: ${note}`);
  for (const change of dependencies.added) io.stdout(`  package.json: added ${change.name} ${change.to} to ${change.section}`);
  for (const change of dependencies.changed) {
    io.stdout(`  package.json: changed ${change.name} from ${change.from} to ${change.to} (the route needs ${change.to})`);
  }
  for (const { name, range } of dependencies.unchecked)
    io.stdout(`  package.json: kept ${name} ${range} (not a version range: check it meets this project's)`);
  if (plan.theirInstrumentation) {
    io.stdout(
      `  kept your ${plan.theirInstrumentation}: for the route's OpenTelemetry spans, see this project's ${INSTRUMENTATION}`,
    );
  }
  if (envExample.added.length > 0) {
    io.stdout(
      `  .env.example: ${envExample.status === "new" ? "created with" : "appended"} ${envExample.added.length} variables (${envExample.added[0]}…)`,
    );
  }
  const schema = files.find((file) => file.source === "app/api/ai/replicate/schema.ts")?.destination;
  io.stdout("");
  io.stdout("Next steps:");
  io.stdout(`  1. cd ${shown} && npm install`);
  io.stdout("  2. Put REPLICATE_API_TOKEN and the model (REPLICATE_MODEL=owner/name, or REPLICATE_MODEL_VERSION, or");
  io.stdout("     REPLICATE_DEPLOYMENT) in .env.local; .env.example says what every other variable does.");
  if (schema) {
    io.stdout("  3. Fit the route to your model: from this project's folder, with the same token in its .env.local,");
    io.stdout(`     npm run model -- owner/name --out ${path.join(plan.target.dir, schema)}`);
    if (target.alias !== "@/") {
      const to = target.alias ?? "a relative path";
      io.stdout(
        `     then in that file replace the "@/lib/" of its imports by ${target.alias ? `"${to}lib/"` : to} (this app's way to name lib/).`,
      );
    }
  }
  io.stdout(`  4. Edit to taste: ${plan.userFiles.join(", ")}.`);
  io.stdout(
    `  5. npm run dev, then POST /api/ai/replicate (docs/http-api.md in this project)${plan.files.some((f) => f.source === PAGE) ? `, or open the demo page at /${pageUrl(plan)}` : ""}.`,
  );
  if (target.cacheComponents)
    io.stdout("  This app has Cache Components on: the copied routes leave out the segment config it refuses.");
}

function pageUrl(plan: AddToPlan): string {
  const page = plan.files.find((file) => file.source === PAGE)!;
  return path.posix.dirname(path.posix.relative(plan.target.appDir, page.destination));
}
