import type { Progress } from "./route-types";

/** "12/30 · pass 2 (refiner)": the second tqdm bar of a diffusion model is its refiner. */
export function describeSteps(progress: Progress): string {
  const steps = `${progress.current}/${progress.total}`;
  return progress.pass > 1 ? `${steps} · pass ${progress.pass} (refiner)` : steps;
}

export function formatSeconds(milliseconds: number): string {
  return `${(Math.max(0, milliseconds) / 1000).toFixed(1)} s`;
}

/** Replicate reports metrics in seconds with many decimals. */
export function formatMetric(seconds: number | undefined): string | null {
  return typeof seconds === "number" && Number.isFinite(seconds) ? `${seconds.toFixed(2)} s` : null;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Logs as a terminal shows them: tqdm redraws its bar in place with `\r`, so only the last draw stays. */
export function toTerminalText(logs: string): string {
  return logs
    .split(/\r?\n/)
    .map((line) => {
      const draws = line.split("\r").filter((draw) => draw !== "");
      return draws.length > 0 ? draws[draws.length - 1] : "";
    })
    .join("\n");
}
