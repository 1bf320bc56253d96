/**
 * Several `next start` instances of the built app on one account (one simulated Replicate), for
 * the multi-instance test and the scale-out benchmark: optionally sharing one Redis, behind a
 * round-robin loopback proxy that stands in for the load balancer. Webhooks go to the proxy's
 * origin, so a webhook lands on whichever instance the proxy picks, as behind a real balancer;
 * `proxy.pick` lets a test choose.
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { freePort, simulatedReplicateEnv, startNextServer, type NextServer } from "./app-harness";
import { DEFAULT_WEBHOOK_SECRET } from "./simulator/webhooks";
import { startSimulatorServer, type SimulatorServer, type SimulatorServerOptions } from "./simulator/server";

export interface RoundRobinProxy {
  origin: string;
  /** Which instance the next request goes to; the default takes them in turn. */
  pick: () => number;
  /** Instances the proxy skips (stopped or killed ones, as a balancer's health check would). */
  readonly down: Set<number>;
  close(): Promise<void>;
}

/** A few lines of node:http: each request is forwarded whole to one of `origins`, its answer streamed back. */
export async function startRoundRobinProxy(origins: () => string[]): Promise<RoundRobinProxy> {
  let turn = 0;
  const proxy: RoundRobinProxy = {
    origin: "",
    down: new Set(),
    pick: () => {
      const count = origins().length;
      for (let tries = 0; tries < count; tries += 1) {
        const index = turn++ % count;
        if (!proxy.down.has(index)) return index;
      }
      return 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const origin = origins()[proxy.pick()];
    if (origin === undefined) {
      // A pick past the instances is a balancer with nobody behind it (a test's black hole).
      res.writeHead(503, { "content-type": "application/json" });
      return void res.end(
        JSON.stringify({ title: "No instance", detail: "The proxy has no instance to send this to.", status: 503 }),
      );
    }
    const target = new URL(req.url ?? "/", origin);
    const upstream = httpRequest(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ title: "Bad gateway", detail: "The instance did not answer.", status: 502 }));
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  proxy.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

export interface Cluster {
  simulator: SimulatorServer;
  instances: NextServer[];
  proxy: RoundRobinProxy;
  /** SIGKILL of instance `index` (and its workers): no shutdown, no lease released. */
  kill(index: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  instances: number;
  /** Shared state for all instances; undefined: each keeps its own (the single-instance default). */
  redisUrl?: string;
  /** Webhooks to the proxy's origin (default true). */
  webhooks?: boolean;
  env?: Record<string, string>;
  simulator?: SimulatorServerOptions;
  /** Flags for each instance's node (the benchmark's CPU profiles). */
  nodeArgs?: string[];
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const simulator = await startSimulatorServer({ bootMs: 0, ...options.simulator });
  const instances: NextServer[] = [];
  const proxy = await startRoundRobinProxy(() => instances.map((instance) => instance.origin));
  const env = simulatedReplicateEnv(simulator.baseUrl, {
    REPLICATE_WEBHOOK_SECRET: DEFAULT_WEBHOOK_SECRET,
    ...(options.webhooks === false ? {} : { REPLICATE_WEBHOOK_URL: proxy.origin }),
    ...(options.redisUrl
      ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: `cluster-${process.pid}-${Date.now()}:` }
      : { REDIS_URL: "" }),
    ...options.env,
  });
  const stop = async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await proxy.close();
    await simulator.close();
  };
  try {
    const ports = await distinctFreePorts(options.instances);
    instances.push(
      ...(await Promise.all(ports.map((port) => startNextServer({ port, env, timeoutMs: 60_000, nodeArgs: options.nodeArgs })))),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    simulator,
    instances,
    proxy,
    async kill(index) {
      proxy.down.add(index);
      const instance = instances[index];
      try {
        process.kill(-instance.process.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      await instance.stop();
    },
    stop,
  };
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
