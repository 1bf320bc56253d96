import "server-only";
import { createHash } from "node:crypto";
// ioredis is loaded at the first connection, only when Redis is configured (an app without it needs no ioredis).
import type { Redis } from "ioredis";
import { logWarning } from "../log";
import { Problem } from "../problem";

/**
 * The process's two connections to Redis: one for commands, one subscriber (a connection in
 * subscriber mode can send nothing else). Both are opened on first use, never at import or build,
 * and reconnect by themselves.
 *
 * Failing fast is the point: no offline queue (a command sent while disconnected is refused at
 * once instead of piling up and replaying later, when its caller has long given up), no resend of
 * unanswered commands after a reconnect, and a command timeout. Every failure reaches the caller
 * as one typed error, `SharedStateUnavailable`, a 503 Problem; the log gets one warning per outage.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 1000;
/** Reconnect attempts back off up to this, so a restarted Redis is found again within seconds. */
const MAX_RECONNECT_DELAY_MS = 2000;
const RETRY_AFTER_SECONDS = 5;

export class SharedStateUnavailable extends Problem {
  constructor() {
    super(
      503,
      "Shared state unavailable",
      `The shared store (REDIS_URL) did not answer; try again in ${RETRY_AFTER_SECONDS} s.`,
      { headers: { "Retry-After": String(RETRY_AFTER_SECONDS) } },
    );
    this.name = "SharedStateUnavailable";
  }
}

/**
 * What `INFO persistence` says about keeping records across a Redis restart: null when an
 * append-only file is on (every write is logged, fsynced at least each second), else the warning.
 * Snapshots alone (RDB) lose every write since the last one: minutes of Idempotency-Key records.
 */
export function persistenceWarning(info: string): string | null {
  const aof = /^aof_enabled:(\d+)/m.exec(info)?.[1];
  if (aof === "1") return null;
  const what =
    aof === undefined
      ? "does not say whether it persists (INFO persistence has no aof_enabled)"
      : "has no append-only file (aof_enabled:0)";
  return (
    `The Redis at REDIS_URL ${what}: a restart of it forgets every Idempotency-Key record, so a retry with a known key ` +
    "creates a second prediction, billed. Idempotency-Keys last 24 h only on a Redis with AOF persistence: set " +
    "`appendonly yes` (managed Redis: turn on AOF / durable persistence)."
  );
}

/** Replies that mean "Redis is not serving right now", not "this command is wrong". */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

export interface RedisConnectionOptions {
  url: string;
  keyPrefix: string;
  commandTimeoutMs?: number;
  /** Where the one warning per outage goes (injected by tests). */
  warn?: (event: string, message: string) => void;
}

export class RedisConnection {
  readonly keyPrefix: string;
  private readonly url: string;
  private readonly commandTimeoutMs: number;
  private readonly warn: (event: string, message: string) => void;
  private commandClient?: Promise<Redis>;
  private subscriberClient?: Promise<Redis>;
  private readonly listeners = new Map<string, Set<(message: string) => void>>();
  private down = false;
  private persistenceChecked?: Promise<void>;

  constructor(options: RedisConnectionOptions) {
    this.url = options.url;
    this.keyPrefix = options.keyPrefix;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.warn = options.warn ?? logWarning;
  }

  /** The prefixed name of a key or channel. */
  key(name: string): string {
    return this.keyPrefix + name;
  }

  /** Runs commands on the command connection; any failure to reach Redis is `SharedStateUnavailable`. */
  async run<T>(operation: (redis: Redis) => Promise<T>): Promise<T> {
    this.commandClient ??= this.connect();
    const client = await this.commandClient;
    const result = await this.guarded(client, () => operation(client));
    this.persistenceChecked ??= this.checkPersistence();
    return result;
  }

  /** Once a connection serves: warns (loudly, once) when this Redis would forget its records on a restart. */
  private async checkPersistence(): Promise<void> {
    const client = await this.commandClient;
    if (!client) return;
    try {
      const warning = persistenceWarning(await this.guarded(client, () => client.info("persistence")));
      if (warning) this.warn("redis_not_persistent", warning);
    } catch {
      // Not answered now: asked again after a later command.
      this.persistenceChecked = undefined;
    }
  }

  /** Calls `listener` with each message published on `channel` (prefixed) until the returned function is called. */
  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    const name = this.key(channel);
    this.subscriberClient ??= this.connect().then((subscriber) =>
      subscriber.on("message", (from: string, message: string) => {
        for (const each of this.listeners.get(from) ?? []) each(message);
      }),
    );
    const client = await this.subscriberClient;
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
      try {
        // Subscribed once per channel; ioredis subscribes again by itself after a reconnect.
        await this.guarded(client, () => client.subscribe(name));
      } catch (error) {
        this.listeners.delete(name);
        throw error;
      }
    }
    set.add(listener);
    return async () => {
      set.delete(listener);
      if (set.size > 0 || this.listeners.get(name) !== set) return;
      this.listeners.delete(name);
      await this.guarded(client, () => client.unsubscribe(name)).catch(() => undefined);
    };
  }

  /** Closes both connections (tests, shutdown); a later use opens them again. */
  async close(): Promise<void> {
    const opened = [this.commandClient, this.subscriberClient].filter((client) => client !== undefined);
    this.commandClient = undefined;
    this.subscriberClient = undefined;
    this.listeners.clear();
    const clients = await Promise.all(opened);
    await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
  }

  private async connect(): Promise<Redis> {
    const { Redis } = await import("ioredis");
    const client = new Redis(this.url, {
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      // A backstop only: `guarded` gives up on a command after commandTimeoutMs itself, without
      // counting the time this process was too busy to read an answer that had arrived.
      commandTimeout: this.commandTimeoutMs * BACKSTOP_FACTOR,
      connectTimeout: Math.max(this.commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS),
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 10), MAX_RECONNECT_DELAY_MS),
    });
    // Without a listener an "error" event would crash the process; the outage is reported once.
    client.on("error", (error: Error) => this.outage(error));
    client.on("ready", () => {
      this.down = false;
    });
    return client;
  }

  private async guarded<T>(client: Redis, operation: () => Promise<T>): Promise<T> {
    try {
      await this.ready(client);
      const result = await withinTimeout(operation(), this.commandTimeoutMs);
      this.down = false;
      return result;
    } catch (error) {
      if (isReplyError(error) && !UNAVAILABLE_REPLY.test(error.message)) throw error;
      this.outage(error);
      throw new SharedStateUnavailable();
    }
  }

  /** Resolves once the client can send; while connecting, waits at most one command timeout. */
  private async ready(client: Redis): Promise<void> {
    if (client.status === "ready") return;
    // Known to be down: refuse at once rather than make every request wait out the timeout.
    if (this.down) throw new Error(`Redis connection is ${client.status}`);
    await new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        client.off("ready", onReady);
        client.off("error", settle);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => settle();
      const timer = setTimeout(
        () => settle(new Error(`Redis did not connect within ${this.commandTimeoutMs} ms`)),
        this.commandTimeoutMs,
      );
      client.once("ready", onReady);
      // A refused connection fails the call at once rather than at the timeout.
      client.once("error", settle);
    });
  }

  private outage(error: unknown): void {
    if (this.down) return;
    this.down = true;
    const reason = error instanceof Error ? error.message : String(error);
    this.warn(
      "shared_state_unavailable",
      `Redis (REDIS_URL) is unavailable: ${reason}. Shared-state calls answer 503 until it is back.`,
    );
  }
}

/** An error Redis answered (ioredis's ReplyError), told by its name: ioredis itself is loaded only when used. */
function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === "ReplyError";
}

/** ioredis's own command timeout, as a multiple of ours: it collects commands a frozen server never answers. */
const BACKSTOP_FACTOR = 5;

/**
 * `work`, or a rejection once `ms` have passed. When the timer fires, the rejection waits for one
 * turn of the event loop's I/O phase (setImmediate runs after it): on a process so busy that the
 * timer fires late, an answer already in the socket is read first instead of being called lost.
 */
function withinTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(
      () =>
        setImmediate(() => {
          if (!done) reject(new Error(`Redis did not answer within ${ms} ms`));
          done = true;
        }),
      ms,
    );
    work.then(
      (value) => {
        clearTimeout(timer);
        if (!done) resolve(value);
        done = true;
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!done) reject(error);
        done = true;
      },
    );
  });
}

/**
 * A Lua script run by its SHA (EVALSHA), loaded with EVAL the first time a server lacks it (after
 * a restart, or on a new server). Scripts run atomically: nothing else runs on Redis meanwhile.
 */
export function luaScript(source: string): (redis: Redis, keys: string[], args: (string | number)[]) => Promise<unknown> {
  const sha = createHash("sha1").update(source).digest("hex");
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isReplyError(error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}
