/**
 * A throwaway Redis for tests: Debian's `redis-server` on a free loopback port (never 6379), no
 * persistence, stopped after the file's tests. Without `redis-server` on PATH the Redis tests are
 * skipped with one line naming the package to install.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export const REDIS_PACKAGE_HINT = "Redis tests skipped: redis-server is not on PATH (Debian: apt-get install redis-server).";

export const hasRedisServer = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
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

/** A free loopback port other than 6379 (the port of any real Redis on the machine). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    if (port !== 6379 && port !== 0) return port;
  }
}

/** True once the server answers PING with +PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    socket.setTimeout(500, () => socket.destroy());
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) socket.end();
    });
    socket.on("close", () => resolve(reply.startsWith("+PONG")));
    socket.on("error", () => undefined);
  });
}

export function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  return new Promise((resolve, reject) => {
    let exited = false;
    child.once("exit", (code) => {
      exited = true;
      reject(new Error(`redis-server exited with ${code} before answering on port ${port}`));
    });
    const deadline = Date.now() + 10_000;
    const poll = async () => {
      if (exited) return;
      if (await answersPing(port)) return resolve(child);
      if (Date.now() > deadline) {
        child.kill();
        return reject(new Error(`redis-server did not answer on port ${port} within 10 s`));
      }
      setTimeout(poll, 25);
    };
    void poll();
  });
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
    redis.port = await freePort();
    await redis.start();
  }, 20_000);
  afterAll(() => redis.stop());
  return redis;
}
