/**
 * Debian's `redis-server` on a free loopback port (never 6379), without persistence: the tests'
 * throwaway Redis and the scale-out benchmark's. Nothing here connects to a Redis of the machine.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createConnection } from "node:net";
import { freePort } from "./app-harness";

export const hasRedisServer = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;

/** A free loopback port other than 6379 (the port of any real Redis on the machine). */
export async function freeRedisPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port !== 6379) return port;
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
