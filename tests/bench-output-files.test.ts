import path from "node:path";
import { describe, expect, it } from "vitest";
import { outputFiles } from "../bench/output-files";
import { PROJECT_ROOT } from "../bench/ways/way";

const full = { quick: false, onlyScenarios: [], onlyWays: [], dataUrls: false };
const relative = (files: Record<string, string>) =>
  Object.fromEntries(Object.entries(files).map(([name, file]) => [name, path.relative(PROJECT_ROOT, file)]));

describe("where the benchmark writes its reports", () => {
  it("a full run writes beside the README's figures", () => {
    expect(relative({ ...outputFiles(full) })).toEqual({
      json: "bench/results.json",
      markdown: "bench/results.md",
      chart: "docs/bench-chart.svg",
      scaleOut: "bench/scale-out.md",
    });
  });

  it("the data-URL variant's reports, scale-out included, never overwrite the default run's", () => {
    expect(relative({ ...outputFiles({ ...full, dataUrls: true }) })).toEqual({
      json: "bench/results-data-urls.json",
      markdown: "bench/results-data-urls.md",
      chart: "docs/bench-chart-data-urls.svg",
      scaleOut: "bench/scale-out-data-urls.md",
    });
  });

  it("a quick or partial run writes only in bench/.work", () => {
    for (const partial of [
      { quick: true },
      { onlyScenarios: ["crowd"] },
      { onlyWays: ["route"] },
      { onlyScenarios: ["scale-out"], dataUrls: true },
    ]) {
      for (const file of Object.values(outputFiles({ ...full, ...partial }))) {
        expect(path.relative(PROJECT_ROOT, file).startsWith(`bench${path.sep}.work${path.sep}`)).toBe(true);
      }
    }
  });
});
