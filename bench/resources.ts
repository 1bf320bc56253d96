import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { cpuMs, processTree, residentBytes } from "./processes";

/** What a serving process spent during one scenario: peak memory, event-loop delay and CPU time. */
export interface ResourceFigures {
  peakRssMb: number;
  /** Worst p99 event-loop delay over the serving process tree (ms). */
  eventLoopP99Ms: number | null;
  eventLoopMaxMs: number | null;
  /** CPU time (user + system) the serving process tree used during the scenario, in ms (10 ms resolution). */
  cpuMs: number;
}

export interface ResourceWatch {
  stop(): Promise<ResourceFigures>;
}

const SAMPLE_EVERY_MS = 100;

/**
 * Samples the resident memory of the process tree rooted at `rootPid` (summed: a forked worker
 * counts) and opens a fresh event-loop window in every process that runs the monitor.
 */
export function watchResources(rootPid: number, eventLoopDir: string): ResourceWatch {
  let tree = processTree(rootPid);
  for (const pid of monitoredPids(tree, eventLoopDir)) process.kill(pid, "SIGUSR2");
  const startedAt = Date.now();
  // Per process, the CPU time it had used when first seen (0 for one started during the scenario).
  const cpuAtStart = new Map(tree.map((pid) => [pid, cpuMs(pid)]));
  const cpuNow = new Map<number, number>();
  let peak = 0;
  const sample = () => {
    for (const pid of tree) {
      const used = cpuMs(pid);
      if (used > 0) cpuNow.set(pid, used);
    }
    peak = Math.max(
      peak,
      tree.reduce((sum, pid) => sum + residentBytes(pid), 0),
    );
  };
  sample();
  const timer = setInterval(sample, SAMPLE_EVERY_MS);
  const retree = setInterval(() => (tree = processTree(rootPid)), 2_000);

  let stopped: Promise<ResourceFigures> | undefined;
  const stop = async (): Promise<ResourceFigures> => {
    clearInterval(timer);
    clearInterval(retree);
    sample();
    // The monitors write every 500 ms: wait for a write that covers the whole scenario.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const windows = monitoredPids(tree, eventLoopDir)
      .map((pid) => readWindow(eventLoopDir, pid))
      .filter((w): w is EventLoopWindow => w !== null && w.windowStartedAt >= startedAt - 1_000 && w.samples > 0);
    return {
      peakRssMb: Math.round(peak / 1024 / 1024),
      eventLoopP99Ms: windows.length ? Math.max(...windows.map((w) => w.p99Ms)) : null,
      eventLoopMaxMs: windows.length ? Math.max(...windows.map((w) => w.maxMs)) : null,
      cpuMs: [...cpuNow].reduce((sum, [pid, used]) => sum + used - (cpuAtStart.get(pid) ?? 0), 0),
    };
  };
  // Stopping twice (normal end, then the cleanup of a failure path) measures once.
  return { stop: () => (stopped ??= stop()) };
}

interface EventLoopWindow {
  windowStartedAt: number;
  samples: number;
  p99Ms: number;
  maxMs: number;
}

/** Only processes whose monitor is loaded get SIGUSR2 (without a handler it would kill them). */
function monitoredPids(tree: number[], dir: string): number[] {
  return tree.filter((pid) => existsSync(path.join(dir, `${pid}.json`)));
}

function readWindow(dir: string, pid: number): EventLoopWindow | null {
  try {
    return JSON.parse(readFileSync(path.join(dir, `${pid}.json`), "utf8")) as EventLoopWindow;
  } catch {
    return null;
  }
}
