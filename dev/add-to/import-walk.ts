/**
 * Which of this project's files a set of entry files needs: every import they make, followed
 * through the project (`@/…` and relative specifiers), with the npm packages met on the way. The
 * imports are read by TypeScript's own pre-processor (static, re-exports, `import()` and
 * side-effect imports alike), so a lazily loaded module (the AWS SDK, ioredis) is copied too.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import ts from "typescript";

/** One import in a file: its specifier as written and where it stands in the text. */
export interface ImportSite {
  specifier: string;
  start: number;
  end: number;
}

export interface ImportWalk {
  /** The project's files the entries need, entries included, relative to the root with `/`, sorted. */
  files: string[];
  /** The npm packages those files import (the package's name, without a subpath), sorted. */
  packages: string[];
}

const EXTENSIONS = [".ts", ".tsx", ".mts", ".js", ".jsx", ".mjs"];
const BUILTINS = new Set(builtinModules);

/** The imports of a TypeScript or JavaScript source text, in order. */
export function importSites(source: string): ImportSite[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  // `pos` is the opening quote's; the specifier is the text after it.
  return importedFiles
    .map((file) => ({ specifier: file.fileName, start: file.pos + 1, end: file.pos + 1 + file.fileName.length }))
    .filter((site) => source.slice(site.start, site.end) === site.specifier);
}

/** The package an import names (`@aws-sdk/client-s3/x` -> `@aws-sdk/client-s3`), or null for Node's own modules. */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith("node:") || BUILTINS.has(specifier.split("/")[0])) return null;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Whether an import names a file of the project rather than a package. */
export function isProjectSpecifier(specifier: string): boolean {
  return (
    specifier.startsWith("@/") ||
    specifier.startsWith("./") ||
    specifier.startsWith("../") ||
    specifier === "." ||
    specifier === ".."
  );
}

/** The project file (relative to `root`) that `specifier`, imported from `fromFile`, names; throws when none does. */
export function resolveProjectImport(root: string, fromFile: string, specifier: string): string {
  const base = specifier.startsWith("@/")
    ? path.join(root, specifier.slice(2))
    : path.resolve(path.dirname(path.join(root, fromFile)), specifier);
  const candidates = [
    base,
    ...EXTENSIONS.map((ext) => base + ext),
    // `./x.js` written for `./x.ts` (NodeNext style)
    ...(/\.[mc]?jsx?$/.test(base) ? EXTENSIONS.map((ext) => base.replace(/\.[mc]?jsx?$/, ext)) : []),
    ...EXTENSIONS.map((ext) => path.join(base, `index${ext}`)),
  ];
  const found = candidates.find((file) => existsSync(file) && statSync(file).isFile());
  if (!found) throw new Error(`${fromFile} imports "${specifier}", which names no file of the project`);
  return path.relative(root, found).split(path.sep).join("/");
}

/** Follows the imports of `entries` (paths relative to `root`) through the project. */
export function walkImports(root: string, entries: string[]): ImportWalk {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [...entries];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    if (!/\.[mc]?[jt]sx?$/.test(file)) continue; // a stylesheet or an asset: nothing to follow
    for (const { specifier } of importSites(readFileSync(path.join(root, file), "utf8"))) {
      if (isProjectSpecifier(specifier)) pending.push(resolveProjectImport(root, file, specifier));
      else {
        const name = packageOf(specifier);
        if (name) packages.add(name);
      }
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}
