import { spawn, type ChildProcess } from "node:child_process";

/**
 * A child process in its own process group, so that one signal stops it and everything it forks
 * (`next start` has workers). Used by the demo, the browser tests and the benchmark.
 */
export interface GroupProcess {
  child: ChildProcess;
  /** Its output so far (the last 20,000 characters), unless it was inherited. */
  output: () => string;
  hasExited: () => boolean;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop: (graceMs?: number) => Promise<void>;
}

export function spawnGroup(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; inheritOutput?: boolean },
): GroupProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", options.inheritOutput ? "inherit" : "pipe", options.inheritOutput ? "inherit" : "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // the group is already gone
    }
  };
  return {
    child,
    output: () => output,
    hasExited: () => exited,
    stop: async (graceMs = 3_000) => {
      if (exited || child.pid === undefined) return;
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Polls `origin` until it answers anything; throws if the process exits first or time runs out. */
export async function waitUntilAnswering(origin: string, process: GroupProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (process.hasExited()) throw new Error("exited before answering");
    try {
      const response = await fetch(origin, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer().catch(() => undefined);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`did not answer at ${origin} within ${timeoutMs} ms`);
}
