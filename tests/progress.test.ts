import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { estimateRemainingMs, parseProgress } from "@/lib/shared/progress";

// A diffusion model's cumulative log as Replicate predictions carry it: a seed line, then tqdm bars.
const DOCUMENTED_LOG = [
  "Using seed: 16010",
  "  0%|          | 0/16 [00:00<?, ?it/s]",
  "  6%|▋         | 1/16 [00:00<00:02,  6.90it/s]",
  "100%|██████████| 16/16 [00:02<00:00,  7.21it/s]",
  "  0%|          | 0/5 [00:00<?, ?it/s]",
].join("\n");

const BLOCKS = " ▏▎▍▌▋▊▉█";

// Draws a bar the way tqdm does (10 cells, eighth-block resolution).
function tqdmLine(current: number, total: number, fill: "blocks" | "hash" = "blocks"): string {
  const percentage = Math.floor((current / total) * 100);
  const eighths = Math.floor((current / total) * 80);
  const cells =
    fill === "hash"
      ? "#".repeat(Math.floor(eighths / 8)).padEnd(10)
      : ("█".repeat(Math.floor(eighths / 8)) + (eighths % 8 ? BLOCKS[eighths % 8] : "")).padEnd(10);
  return `${String(percentage).padStart(3)}%|${cells}| ${current}/${total} [00:01<00:02,  7.21it/s]`;
}

function tqdmRun(total: number, upTo = total, fill: "blocks" | "hash" = "blocks"): string[] {
  return Array.from({ length: upTo + 1 }, (_, step) => tqdmLine(step, total, fill));
}

// Shaped like stability-ai/sdxl with refiner "expert_ensemble_refiner": 30 base steps, then 10.
function sdxlLog(refinerSteps: number): string {
  return [
    "Using seed: 41264",
    "Ensuring enough disk space...",
    "Free disk space: 1567573045248",
    "Loading fine-tuned model",
    "Prompt: An astronaut riding a rainbow unicorn, 100% photorealistic",
    "txt2img mode",
    ...tqdmRun(30),
    ...tqdmRun(10, refinerSteps),
  ].join("\n");
}

describe("reads the last tqdm bar", () => {
  it("reads the documented log: the second bar has just started", () => {
    expect(parseProgress(DOCUMENTED_LOG)).toEqual({ percentage: 0, current: 0, total: 5, pass: 2 });
  });

  it("reads the documented log up to the end of its first bar", () => {
    const firstBarOnly = DOCUMENTED_LOG.slice(0, DOCUMENTED_LOG.lastIndexOf("\n"));
    expect(parseProgress(firstBarOnly)).toEqual({ percentage: 100, current: 16, total: 16, pass: 1 });
  });

  it("reads a bar in the middle of a run", () => {
    const log = ["Using seed: 1", ...tqdmRun(16, 1)].join("\n");
    expect(parseProgress(log)).toEqual({ percentage: 6, current: 1, total: 16, pass: 1 });
  });

  it("reads bars drawn with '#'", () => {
    const log = tqdmRun(30, 12, "hash").join("\n");
    expect(log).toContain(" 40%|####      | 12/30 [");
    expect(parseProgress(log)).toEqual({ percentage: 40, current: 12, total: 30, pass: 1 });
  });

  it("keeps the last bar when plain lines follow it", () => {
    const log = `${tqdmRun(20).join("\n")}\nSaving output to /tmp/out-0.png\nDone.\n`;
    expect(parseProgress(log)).toEqual({ percentage: 100, current: 20, total: 20, pass: 1 });
  });

  it("caps the percentage at 100 when tqdm overshoots its total", () => {
    expect(parseProgress("150%|##########| 45/30 [00:09<00:00]")).toEqual({
      percentage: 100,
      current: 45,
      total: 30,
      pass: 1,
    });
  });
});

describe("splits lines on \\n, \\r\\n and bare \\r", () => {
  it("reads in-place updates separated by a bare \\r", () => {
    const log = `Using seed: 7\n${tqdmRun(30, 12, "hash").join("\r")}`;
    expect(parseProgress(log)).toEqual({ percentage: 40, current: 12, total: 30, pass: 1 });
  });

  it("reads \\r\\n line endings", () => {
    expect(parseProgress(DOCUMENTED_LOG.replaceAll("\n", "\r\n"))).toEqual({
      percentage: 0,
      current: 0,
      total: 5,
      pass: 2,
    });
  });

  it("reads a mix of all three, as a model writing tqdm to stderr produces", () => {
    const log = `Using seed: 7\r\n${tqdmRun(16).join("\r")}\n${tqdmRun(5, 3).join("\r")}`;
    expect(parseProgress(log)).toEqual({ percentage: 60, current: 3, total: 5, pass: 2 });
  });

  it("ignores a bar cut off in the middle of being written", () => {
    const log = `${tqdmRun(30, 12, "hash").join("\r")}\r 43%|####`;
    expect(parseProgress(log)).toEqual({ percentage: 40, current: 12, total: 30, pass: 1 });
  });
});

describe("counts passes (base, then refiner)", () => {
  it("is on pass 1 during the base pass", () => {
    const log = ["Using seed: 41264", ...tqdmRun(30, 12)].join("\n");
    expect(parseProgress(log)).toMatchObject({ current: 12, total: 30, pass: 1 });
  });

  it("is on pass 1 when the base pass has just finished", () => {
    expect(parseProgress(sdxlLog(-1))).toEqual({ percentage: 100, current: 30, total: 30, pass: 1 });
  });

  it("is on pass 2 in the refiner", () => {
    expect(parseProgress(sdxlLog(4))).toEqual({ percentage: 40, current: 4, total: 10, pass: 2 });
  });

  it("starts a new pass when a bar of the same total starts over", () => {
    const log = [...tqdmRun(30), ...tqdmRun(30, 3)].join("\n");
    expect(parseProgress(log)).toMatchObject({ current: 3, total: 30, pass: 2 });
  });

  it("does not count a bar redrawn at the same step as a new pass", () => {
    // tqdm prints the final state again when it closes.
    const log = [...tqdmRun(16), tqdmLine(16, 16)].join("\r");
    expect(parseProgress(log)).toMatchObject({ current: 16, pass: 1 });
  });

  it("counts every bar in a longer run", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 }), (totals) => {
        const log = totals.flatMap((total) => tqdmRun(total)).join("\r");
        const lastTotal = totals[totals.length - 1];
        expect(parseProgress(log)).toEqual({
          percentage: 100,
          current: lastTotal,
          total: lastTotal,
          pass: totals.length,
        });
      }),
    );
  });

  it("does not count a labelled bar, such as diffusers loading its pipeline, as a pass", () => {
    const log = ["Loading pipeline components...: 100%|██████████| 7/7 [00:01<00:00,  4.20it/s]", ...tqdmRun(30, 6)].join("\n");
    expect(parseProgress(log)).toMatchObject({ current: 6, total: 30, pass: 1 });
  });
});

describe("no bar, no progress", () => {
  it.each([
    ["null", null],
    ["undefined", undefined],
    ["an empty log", ""],
    ["a log with only plain lines", "Using seed: 16010\nLoading model\n"],
    [
      "lines that merely contain a % sign",
      "Prompt: 100% photorealistic\nVRAM 50% | 12/24 GB\n  30% done\nguidance 7.5%|\n100%\n",
    ],
    ["a line with the bar's pipes but no counts", " 40%|####      | twelve of thirty"],
  ])("answers null for %s", (_name, logs) => {
    expect(parseProgress(logs)).toBeNull();
  });

  it("answers null rather than throwing for values that are not strings", () => {
    for (const odd of [42, {}, [], true, Symbol("logs")]) {
      expect(parseProgress(odd as unknown as string)).toBeNull();
    }
  });

  it("never throws on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("%", "|", "/", "\r", "\n", " ", "1", "0", "█", "#", "a") }), (logs) => {
        const progress = parseProgress(logs);
        if (progress) expect(progress.pass).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});

describe("large logs are read in one pass", () => {
  // A quadratic or backtracking pass over a 1 MB line takes hours, so the test's timeout catches
  // it; no assertion here depends on the machine's speed.

  it("reads 1 MB of \\r-separated updates", () => {
    const steps = tqdmRun(1000);
    const logs = Array.from({ length: 20 }, () => steps.join("\r")).join("\n");
    expect(logs.length).toBeGreaterThan(1_000_000);
    expect(parseProgress(logs)).toEqual({ percentage: 100, current: 1000, total: 1000, pass: 20 });
  });

  it.each([
    ["spaces", " ".repeat(1_000_000)],
    ["bar openings", "1%|".repeat(350_000)],
    ["pipes after a percentage", ` 50%${"|".repeat(1_000_000)}`],
    ["digits", "9".repeat(1_000_000)],
  ])("reads a 1 MB line of %s without a line break", (_name, logs) => {
    expect(parseProgress(logs)).toBeNull();
  });
});

describe("estimateRemainingMs", () => {
  it("reads the remaining steps and the rate of the last bar", () => {
    const logs = "Using seed: 1\n  0%|          | 0/30 [00:00<?, ?it/s]\n 40%|████      | 12/30 [00:01<00:01,  9.00it/s]\n";
    expect(estimateRemainingMs(logs)).toBe(2000);
  });

  it("understands slow steps written as s/it", () => {
    expect(estimateRemainingMs(" 50%|#####     | 5/10 [00:07<00:07,  1.50s/it]")).toBe(7500);
  });

  it("knows nothing without a rate, with a full bar, or without a bar", () => {
    expect(estimateRemainingMs("  0%|          | 0/30 [00:00<?, ?it/s]")).toBeNull();
    expect(estimateRemainingMs("100%|██████████| 30/30 [00:03<00:00,  9.00it/s]")).toBeNull();
    expect(estimateRemainingMs("loading weights\n")).toBeNull();
    expect(estimateRemainingMs(null)).toBeNull();
  });

  it("follows the last bar of several (a refiner after the base pass)", () => {
    const logs = "100%|██████████| 30/30 [00:03<00:00,  9.00it/s]\r\n 20%|██        | 2/10 [00:00<00:01, 10.00it/s]\r";
    expect(estimateRemainingMs(logs)).toBe(800);
  });
});
