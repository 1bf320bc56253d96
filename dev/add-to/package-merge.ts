/**
 * The target app's package.json with the packages the copied files import: added at this project's
 * range when missing; the app's own range kept when it can meet ours (the ranges intersect), else
 * replaced by ours and said. Type packages (`@types/x`) this project uses for them go to devDependencies.
 */
import semver from "semver";

export interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export interface DependencyChange {
  name: string;
  from?: string;
  to: string;
  section: "dependencies" | "devDependencies";
}

export interface DependencyMerge {
  pkg: PackageJson;
  added: DependencyChange[];
  changed: DependencyChange[];
  /** The app's own range kept although it is not a semver range we can compare (a tag, a URL...). */
  unchecked: { name: string; range: string }[];
}

/** The range this project asks for `name`, from its package.json. */
function ourRange(ours: PackageJson, name: string): { range: string; section: DependencyChange["section"] } | null {
  if (ours.dependencies?.[name]) return { range: ours.dependencies[name], section: "dependencies" };
  if (ours.devDependencies?.[name]) return { range: ours.devDependencies[name], section: "devDependencies" };
  return null;
}

/** Packages that must stay on one version: when the copied files import one, the others are checked as well. */
const LOCKSTEP = [["react", "react-dom"]];

export function mergeDependencies(theirs: PackageJson, ours: PackageJson, packages: string[]): DependencyMerge {
  const pkg: PackageJson = structuredClone(theirs);
  const result: DependencyMerge = { pkg, added: [], changed: [], unchecked: [] };
  const wanted = packages.flatMap((name) => {
    const types = `@types/${name.startsWith("@") ? name.slice(1).replace("/", "__") : name}`;
    return ourRange(ours, types) ? [name, types] : [name];
  });
  for (const group of LOCKSTEP) {
    if (wanted.some((name) => group.includes(name)))
      wanted.push(...group.filter((name) => !wanted.includes(name) && ourRange(ours, name)));
  }
  for (const name of wanted) {
    const our = ourRange(ours, name);
    if (!our) throw new Error(`the copied files import ${name}, which this project's package.json does not list`);
    const section = name.startsWith("@types/") ? "devDependencies" : "dependencies";
    const existingSection = pkg.dependencies?.[name] ? "dependencies" : pkg.devDependencies?.[name] ? "devDependencies" : null;
    if (!existingSection) {
      pkg[section] = sortKeys({ ...(pkg[section] ?? {}), [name]: our.range });
      result.added.push({ name, to: our.range, section });
      continue;
    }
    const range = pkg[existingSection]![name];
    if (!semver.validRange(range)) {
      result.unchecked.push({ name, range });
    } else if (!semver.intersects(range, our.range)) {
      pkg[existingSection] = { ...pkg[existingSection], [name]: our.range };
      result.changed.push({ name, from: range, to: our.range, section: existingSection });
    }
  }
  return result;
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
