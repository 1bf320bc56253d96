import path from "node:path";
import type { BenchOptions } from "./options";
import { PROJECT_ROOT } from "./ways/way";

/** Where partial runs and the benchmark's own scratch files go (git-ignored). */
export const WORK_DIR = path.join(PROJECT_ROOT, "bench/.work");

export interface OutputFiles {
  json: string;
  markdown: string;
  chart: string;
  /** The scale-out run's table (its JSON beside it, `.json` for `.md`). */
  scaleOut: string;
}

/**
 * Where a run's reports go: a full run's beside the README's figures (`bench/`, the chart in
 * `docs/`); a quick or partial one's in bench/.work. The data-URL variant's are named so, never
 * over the default run's.
 */
export function outputFiles(options: Pick<BenchOptions, "quick" | "onlyScenarios" | "onlyWays" | "dataUrls">): OutputFiles {
  const partial = options.quick || options.onlyScenarios.length > 0 || options.onlyWays.length > 0;
  const suffix = options.dataUrls ? "-data-urls" : "";
  const results = partial ? WORK_DIR : path.join(PROJECT_ROOT, "bench");
  return {
    json: path.join(results, `results${suffix}.json`),
    markdown: path.join(results, `results${suffix}.md`),
    chart: partial ? path.join(WORK_DIR, `bench-chart${suffix}.svg`) : path.join(PROJECT_ROOT, `docs/bench-chart${suffix}.svg`),
    scaleOut: path.join(results, `scale-out${suffix}.md`),
  };
}
