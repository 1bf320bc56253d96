/**
 * A throwaway Redis for tests: Debian's `redis-server` on a free loopback port (never 6379), no
 * persistence, stopped after the file's tests. Without `redis-server` on PATH the Redis tests are
 * skipped with one line naming the package to install.
 */
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { freeRedisPort, hasRedisServer, startRedisServer } from "@/dev/redis-server";

export { hasRedisServer };

export const REDIS_PACKAGE_HINT = "Redis tests skipped: redis-server is not on PATH (Debian: apt-get install redis-server).";

if (!hasRedisServer && firstInThisRun("redis-skip-notice")) console.warn(REDIS_PACKAGE_HINT);

/** True in the first test file of this vitest run to ask (its files share the parent process). */
function firstInThisRun(name: string): boolean {
  try {
    writeFileSync(join(tmpdir(), `${name}-${process.ppid}`), "", { flag: "wx" });
    return true;
  } catch {
    return false;
  }
}

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Stops the server (an outage); `start` brings it back on the same port, empty. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that is up but answers nothing (a frozen Redis). */
  freeze(): void;
  thaw(): void;
  /** Thaws and starts the server if a test left it stopped (so one failure does not fail the next). */
  ensureRunning(): Promise<void>;
}

function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGCONT");
    child.kill("SIGTERM");
  });
}

/** Starts a Redis for the calling test file (beforeAll) and stops it after (afterAll). */
export function useRedisServer(): TestRedis {
  let child: ChildProcess | undefined;
  const redis = {
    port: 0,
    get url() {
      return `redis://127.0.0.1:${redis.port}`;
    },
    async start() {
      child = await startRedisServer(redis.port);
    },
    async stop() {
      await stopChild(child);
      child = undefined;
    },
    freeze: () => child?.kill("SIGSTOP"),
    thaw: () => child?.kill("SIGCONT"),
    async ensureRunning() {
      if (child) child.kill("SIGCONT");
      else await redis.start();
    },
  };
  beforeAll(async () => {
    if (!hasRedisServer) return;
    redis.port = await freeRedisPort();
    await redis.start();
  }, 20_000);
  afterAll(() => redis.stop());
  return redis;
}
