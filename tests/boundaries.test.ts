// The house rules, read from the source with TypeScript's own parser: what the browser may reach,
// what starts with `import "server-only"`, and which folders may import which.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

type Import = { specifier: string; typeOnly: boolean };

const SKIPPED_DIRS = new Set(["node_modules", ".next", ".git", ".work", "artifacts"]);

/** Every .ts/.tsx file under `dir` (relative to the root), build output and dependencies left out. */
function sourceFiles(dir: string): string[] {
  const full = path.join(PROJECT_ROOT, dir);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [dir];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    const child = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(child);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [child] : [];
  });
}

const importCache = new Map<string, Import[]>();

/** Static imports, re-exports and `import("...")` of one file; `import type` / `export type` are marked type-only. */
function importsOf(file: string): Import[] {
  const cached = importCache.get(file);
  if (cached) return cached;
  const text = readFileSync(path.join(PROJECT_ROOT, file), "utf8");
  const source = ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.Latest,
    false,
    file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const found: Import[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly ?? false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) found.push({ specifier: argument.text, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  importCache.set(file, found);
  return found;
}

/** A repository file (relative path) for `@/` and relative specifiers, else null (a package). */
function resolveSpecifier(from: string, specifier: string): string | null {
  let base: string;
  if (specifier.startsWith("@/")) base = specifier.slice(2);
  else if (specifier.startsWith(".")) base = path.posix.join(path.posix.dirname(from), specifier);
  else return null;
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`]) {
    const full = path.join(PROJECT_ROOT, candidate);
    if (existsSync(full) && statSync(full).isFile()) return candidate;
  }
  throw new Error(`${from}: cannot resolve "${specifier}"`);
}

const isSource = (file: string) => /\.tsx?$/.test(file);
const packageName = (specifier: string) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

const FORBIDDEN_PACKAGES = new Set(["server-only", "axios", "axios-retry"]);

/** What may never end up in the page's bundle: lib/server/** and the server's packages. */
function forbiddenForBrowser(target: string): boolean {
  return target.startsWith("lib/server/") || FORBIDDEN_PACKAGES.has(target);
}

/**
 * Walks the runtime imports (type-only ones are erased) from `start` and answers the first chain
 * that reaches something `forbidden`, e.g. ["app/page.tsx", "lib/browser/x.ts", "lib/server/config.ts"].
 */
function forbiddenChain(start: string, forbidden: (target: string) => boolean): string[] | null {
  const parent = new Map<string, string | null>([[start, null]]);
  const queue = [start];
  const chainTo = (target: string) => {
    const chain = [target];
    for (let at: string | null | undefined = parent.get(target); at; at = parent.get(at)) chain.unshift(at);
    return chain;
  };
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const { specifier, typeOnly } of importsOf(file)) {
      if (typeOnly) continue;
      const resolved = resolveSpecifier(file, specifier);
      const target = resolved ?? packageName(specifier);
      if (parent.has(target)) continue;
      parent.set(target, file);
      if (forbidden(target)) return chainTo(target);
      if (resolved && isSource(resolved)) queue.push(resolved);
    }
  }
  return null;
}

/** Every import of `files` (type-only included) that resolves into one of `folders`, as "from -> to". */
function importsInto(files: string[], folders: string[]): string[] {
  return files.flatMap((file) =>
    importsOf(file)
      .map(({ specifier }) => resolveSpecifier(file, specifier))
      .filter((target): target is string => target !== null && folders.some((folder) => target.startsWith(folder)))
      .map((target) => `${file} -> ${target}`),
  );
}

const BROWSER_FILES = [
  ...sourceFiles("lib/browser"),
  ...sourceFiles("app/_components"),
  "app/page.tsx",
  "app/layout.tsx",
  ...sourceFiles("lib/shared"),
];

describe("the house's boundaries", () => {
  it("finds the files it checks", () => {
    // A walk over nothing would pass whatever the code does.
    for (const folder of ["lib/browser", "app/_components", "lib/shared", "lib/server", "dev", "tests", "bench"]) {
      expect(sourceFiles(folder).length, folder).toBeGreaterThan(0);
    }
    expect(importsOf("app/page.tsx").length).toBeGreaterThan(0);
  });

  it("no browser file reaches lib/server, server-only or axios, directly or through another file", () => {
    const chains = BROWSER_FILES.map((file) => forbiddenChain(file, forbiddenForBrowser))
      .filter((chain): chain is string[] => chain !== null)
      .map((chain) => chain.join(" -> "));
    expect(chains, `browser code reaches server code:\n${chains.join("\n")}`).toEqual([]);
  });

  it('every file in lib/server starts with import "server-only"', () => {
    const missing = sourceFiles("lib/server").filter((file) => importsOf(file)[0]?.specifier !== "server-only");
    expect(missing, `first import is not "server-only" in:\n${missing.join("\n")}`).toEqual([]);
  });

  it("lib/shared imports nothing from lib/server or lib/browser", () => {
    expect(importsInto(sourceFiles("lib/shared"), ["lib/server/", "lib/browser/"])).toEqual([]);
  });

  it("dev/ imports nothing from tests/ or bench/", () => {
    expect(importsInto(sourceFiles("dev"), ["tests/", "bench/"])).toEqual([]);
  });

  it("nothing outside tests/ imports tests/", () => {
    const outside = ["app", "lib", "dev", "bench", "next.config.ts", "vitest.config.ts"].flatMap(sourceFiles);
    expect(importsInto(outside, ["tests/"])).toEqual([]);
  });
});
