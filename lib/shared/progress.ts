// Reads progress out of a prediction's cumulative `logs`, where diffusion models print
// tqdm bars. A run can print several bars in a row (a base pass, then a refiner), so the
// result also says which bar it came from.

export interface Progress {
  percentage: number;
  current: number;
  total: number;
  /** 1-based index of the bar in the run: 2 is the second pass (e.g. a refiner). */
  pass: number;
}

// `  40%|####      | 12/30 [00:04<00:06, 2.9it/s]`. Anchored at the line start like the
// official clients, so labelled bars ("Loading pipeline components...: 50%|...") are not
// taken for inference steps. `[^|]*` cannot backtrack, and the digit caps keep numbers exact.
const TQDM_BAR = /^\s*(\d{1,3})%\s*\|[^|]*\|\s*(\d{1,15})\/(\d{1,15})/;

// tqdm redraws a bar in place with a bare `\r`, so each `\r` ends a line as much as `\n` does.
const LINE_BREAK = /\r\n|\r|\n/;

export function parseProgress(logs: string | null | undefined): Progress | null {
  if (typeof logs !== "string") return null;

  let last: Progress | null = null;
  for (const line of logs.split(LINE_BREAK)) {
    const match = TQDM_BAR.exec(line);
    if (!match) continue;
    last = withPass(last, {
      percentage: Math.min(Number(match[1]), 100),
      current: Number(match[2]),
      total: Number(match[3]),
    });
  }
  return last;
}

// A bar continues the previous one unless its total changed or it went back to an earlier step.
function withPass(previous: Progress | null, bar: Omit<Progress, "pass">): Progress {
  if (!previous) return { ...bar, pass: 1 };
  const startsNewBar = bar.total !== previous.total || bar.current < previous.current;
  return { ...bar, pass: previous.pass + (startsNewBar ? 1 : 0) };
}

// The rate tqdm prints at the end of a bar: `9.10it/s`, or `1.52s/it` for slow steps.
const TQDM_RATE = /(\d{1,9}(?:\.\d{1,9})?)\s*(it\/s|s\/it)\s*\]\s*$/;

/**
 * Milliseconds until the last bar finishes, from its remaining steps and its rate, or null when
 * the logs say nothing about it (no bar, no rate yet, or the bar is already full: what follows a
 * full bar, such as decoding or a refiner, takes a time no log predicts).
 */
export function estimateRemainingMs(logs: string | null | undefined): number | null {
  if (typeof logs !== "string") return null;
  const lines = logs.split(LINE_BREAK);
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const bar = TQDM_BAR.exec(lines[i]);
    if (!bar) continue;
    const [current, total] = [Number(bar[2]), Number(bar[3])];
    const rate = TQDM_RATE.exec(lines[i]);
    if (!rate || current >= total) return null;
    const stepsPerSecond = rate[2] === "it/s" ? Number(rate[1]) : 1 / Number(rate[1]);
    return stepsPerSecond > 0 ? Math.round(((total - current) / stepsPerSecond) * 1000) : null;
  }
  return null;
}
