/**
 * The processes the benchmark starts: each in its own process group (so one signal stops it and any
 * worker it forks), all registered here so that Ctrl-C, a failure or the normal end stops every one
 * of them, by id.
 */
import { spawnGroup, waitUntilAnswering } from "../dev/process-group";
import { readdirSync, readFileSync } from "node:fs";

export interface Service {
  name: string;
  origin: string;
  pid: number;
  output: () => string;
  stop: () => Promise<void>;
}

const running = new Set<Service>();

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** http://127.0.0.1:PORT, polled until it answers anything. */
  origin: string;
  timeoutMs?: number;
}

export async function startService(spec: ServiceSpec): Promise<Service> {
  const child = spawnGroup(spec.command, spec.args, { cwd: spec.cwd, env: spec.env });
  const service: Service = {
    name: spec.name,
    origin: spec.origin,
    pid: child.child.pid ?? -1,
    output: child.output,
    stop: async () => {
      running.delete(service);
      await child.stop();
    },
  };
  running.add(service);
  try {
    await waitUntilAnswering(spec.origin, child, spec.timeoutMs ?? 60_000);
  } catch (error) {
    await service.stop();
    throw new Error(`${spec.name}: ${(error as Error).message}\n--- its output ---\n${child.output().slice(-3_000)}`);
  }
  return service;
}

/** Stops everything still running (normal end, failure, Ctrl-C). */
export async function stopAllServices(): Promise<void> {
  await Promise.all([...running].map((service) => service.stop()));
}

/** The process and all its descendants (next start may fork workers). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentPid(Number(entry));
    if (parent === null) continue;
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function parentPid(pid: number): number | null {
  try {
    // The command name (field 2) is in parentheses and may contain spaces: read after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[1]);
  } catch {
    return null;
  }
}

/** Resident memory of one process in bytes, 0 once it is gone. */
export function residentBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process has used so far, in ms; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields 14 and 15 (utime, stime) in clock ticks, counted after the ")" that ends the command name.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Linux's USER_HZ, 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
