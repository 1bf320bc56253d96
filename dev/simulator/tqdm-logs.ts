/**
 * Cumulative log text the way a diffusion model prints it: a seed line, then tqdm progress bars
 * (one per pass). Clients read progress from the last bar line, so the format follows tqdm exactly.
 */

const BAR_WIDTH = 10;
// tqdm's unicode charset: index 0 is the empty cell, then eighths of a block, then a full block.
const BAR_CHARSET = " ▏▎▍▌▋▊▉█";
const EIGHTHS = BAR_CHARSET.length - 1;

export interface ProgressLogsInput {
  seed: number;
  /** Steps in each pass, e.g. [30] or [30, 10] with a refiner. */
  passes: readonly number[];
  stepMs: number;
}

/**
 * The complete log of a run, built once; the log after N steps is a prefix of it, so a poll costs a
 * slice instead of re-rendering every line.
 */
export class ProgressLog {
  private readonly text: string;
  /** lengths[n] = length of the log once n steps are done. */
  private readonly lengths: number[] = [];

  constructor({ seed, passes, stepMs }: ProgressLogsInput) {
    let text = `Using seed: ${seed}\n`;
    passes.forEach((total, pass) => {
      text += `${tqdmLine(0, total, stepMs)}\n`;
      // A finished pass is followed at once by the next pass's empty bar.
      this.lengths[pass === 0 ? 0 : this.lengths.length - 1] = text.length;
      for (let step = 1; step <= total; step++) {
        text += `${tqdmLine(step, total, stepMs)}\n`;
        this.lengths.push(text.length);
      }
    });
    this.text = text;
  }

  get totalSteps(): number {
    return this.lengths.length - 1;
  }

  textAt(stepsDone: number): string {
    const steps = Math.max(0, Math.min(this.totalSteps, Math.floor(stepsDone)));
    return this.text.slice(0, this.lengths[steps]);
  }
}

export function renderProgressLogs(input: ProgressLogsInput & { stepsDone: number }): string {
  return new ProgressLog(input).textAt(input.stepsDone);
}

/** One tqdm line, e.g. ` 40%|████      | 12/30 [00:01<00:01,  9.10it/s]`. */
export function tqdmLine(step: number, total: number, stepMs: number): string {
  const percent = String(Math.round((step / total) * 100)).padStart(3);
  const counts = `${step}/${total}`;
  if (step === 0) return `${percent}%|${bar(0)}| ${counts} [00:00<?, ?it/s]`;
  const elapsedS = (step * stepMs) / 1000;
  const remainingS = ((total - step) * stepMs) / 1000;
  return `${percent}%|${bar(step / total)}| ${counts} [${clock(elapsedS)}<${clock(remainingS)}, ${rate(stepMs)}]`;
}

function bar(fraction: number): string {
  const eighths = Math.floor(fraction * BAR_WIDTH * EIGHTHS);
  const full = Math.floor(eighths / EIGHTHS);
  if (full >= BAR_WIDTH) return BAR_CHARSET[EIGHTHS].repeat(BAR_WIDTH);
  return BAR_CHARSET[EIGHTHS].repeat(full) + BAR_CHARSET[eighths % EIGHTHS] + " ".repeat(BAR_WIDTH - full - 1);
}

function clock(seconds: number): string {
  const whole = Math.floor(seconds);
  const hh = Math.floor(whole / 3600);
  const mm = String(Math.floor((whole % 3600) / 60)).padStart(2, "0");
  const ss = String(whole % 60).padStart(2, "0");
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

function rate(stepMs: number): string {
  const perSecond = 1000 / Math.max(stepMs, 0.001);
  return perSecond >= 1 ? `${perSecond.toFixed(2).padStart(5)}it/s` : `${(1 / perSecond).toFixed(2).padStart(5)}s/it`;
}
