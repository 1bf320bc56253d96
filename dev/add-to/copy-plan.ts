/**
 * Where each of this project's files goes in the target app, and its text there: `app/api/…` into
 * the app's App Router folder, `lib/…` (and anything else the walk reached) beside it under the
 * app's code root, the demo page's files under the path `--page` names. Every import between copied
 * files is written again for its new place: through the app's alias when it has one for its code
 * root, relative otherwise. With Cache Components on, the route segment config it refuses is dropped.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { importSites, isProjectSpecifier, resolveProjectImport } from "./import-walk";
import type { TargetApp } from "./target-app";

export interface PlacedFile {
  /** The project's file, relative to its root. */
  source: string;
  /** Where it goes, relative to the target app's folder. */
  destination: string;
  /** Its text there. */
  text: string;
  /** What was adapted for this app (said in the report), if anything. */
  adapted: string[];
}

export interface Placement {
  target: Pick<TargetApp, "codeRoot" | "appDir" | "alias" | "cacheComponents">;
  /** The route path the demo page goes under (e.g. "replicate"), when copied. */
  pagePath?: string;
}

const SCRIPT = /\.[mc]?[jt]sx?$/;

/** Where `source` (relative to the project's root) goes in the target app. */
export function destinationOf(source: string, { target, pagePath }: Placement): string {
  if (source.startsWith("app/api/")) return path.posix.join(target.appDir, source.slice("app/".length));
  if (source.startsWith("app/")) return path.posix.join(target.appDir, pagePath ?? "", source.slice("app/".length));
  return path.posix.join(target.codeRoot, source);
}

/** The specifier that names `to` from `from` (both target-relative destinations), in the form `original` was written. */
export function specifierFor(from: string, to: string, original: string, resolvedSource: string, placement: Placement): string {
  // Keep the extension and `index` only where the original spelled them.
  let written = to;
  const spelledExtension = /\.[a-z]+$/i.test(original) && path.posix.extname(original) === path.posix.extname(resolvedSource);
  if (!spelledExtension) written = written.replace(SCRIPT, "");
  if (!/\/index$/.test(original) && path.posix.basename(resolvedSource).startsWith("index.") && !spelledExtension) {
    written = path.posix.dirname(written);
  }
  const { alias, codeRoot } = placement.target;
  const underCodeRoot = codeRoot === "" || written === codeRoot || written.startsWith(`${codeRoot}/`);
  if (original.startsWith("@/") && alias && underCodeRoot) {
    return alias + (codeRoot === "" ? written : path.posix.relative(codeRoot, written));
  }
  const relative = path.posix.relative(path.posix.dirname(from), written);
  return relative.startsWith(".") ? relative : `./${relative}`;
}

/** Route segment config that an app with Cache Components refuses (Next 16.4 refuses `runtime` too, even "nodejs", its default). */
const REFUSED_WITH_CACHE_COMPONENTS = /^export const (runtime|dynamic|dynamicParams|revalidate|fetchCache)\b[^\n]*\n/gm;

/** Each file of `files` (the walk's) as it is written into the target app. */
export function placeFiles(root: string, files: string[], placement: Placement): PlacedFile[] {
  return files.map((source) => {
    const destination = destinationOf(source, placement);
    const original = readFileSync(path.join(root, source), "utf8");
    const adapted: string[] = [];
    if (!SCRIPT.test(source)) return { source, destination, text: original, adapted };
    let text = "";
    let at = 0;
    for (const site of importSites(original)) {
      if (!isProjectSpecifier(site.specifier)) continue;
      const resolved = resolveProjectImport(root, source, site.specifier);
      const specifier = specifierFor(destination, destinationOf(resolved, placement), site.specifier, resolved, placement);
      text += original.slice(at, site.start) + specifier;
      at = site.end;
    }
    text += original.slice(at);
    if (placement.target.cacheComponents && /(^|\/)route\.[jt]s$/.test(source)) {
      const dropped = [...text.matchAll(REFUSED_WITH_CACHE_COMPONENTS)].map((match) => match[1]);
      if (dropped.length > 0) {
        text = text.replace(REFUSED_WITH_CACHE_COMPONENTS, "");
        adapted.push(
          `dropped \`${dropped.join("`, `")}\` (this app's Cache Components refuses them; the routes stay on Node.js and dynamic)`,
        );
      }
    }
    return { source, destination, text, adapted };
  });
}
