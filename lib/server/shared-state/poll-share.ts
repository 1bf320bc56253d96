import "server-only";
// Polling once per account: every instance publishes the predictions it waits for (with the status
// it last saw), the instance holding the poller's lease reads them all, refreshes them together
// (one list call reports on up to 100, whichever instance waits for them) and publishes each round's
// changes; each instance answers its own waiters from them. An instance's entries expire unless
// renewed every round, so a dead instance's waits stop being polled within `ttlMs`.

import { luaScript, type RedisConnection } from "./redis-connection";
import { isPrediction, type Prediction } from "../../shared/prediction";

export interface PolledEntry {
  id: string;
  /** The prediction's `created_at` (ISO), for the list endpoint's `created_after`. */
  createdAt: string;
  /** The status the waiting instance last saw: the holder publishes the prediction once it differs. */
  status: string;
  /**
   * false: its instance will learn its end another way (a stream, a webhook) and needs it polled
   * only now and then, not this round; the entry keeps it known to the holder meanwhile.
   */
  due?: boolean;
}

export interface PollRound {
  /** The lease holder that polled. */
  holder: string;
  /** Its clock when the round ended (epoch ms). */
  at: number;
  /** When it read what every instance waits for (a wait published due before then was polled). */
  readAt?: number;
  /** The predictions whose status changed from what their waiters last saw (often none: a heartbeat). */
  changed: Prediction[];
  /** Ids the list shows ended: whoever still waits for one reads it whole (with its logs). */
  ended?: string[];
  /** When each of `ended` ended (epoch ms of its `completed_at`), where the list says. */
  endedAt?: Record<string, number>;
}

export interface PollShare {
  /** Replaces what `instanceId` waits for; forgotten unless renewed within `ttlMs`. */
  publishWaiting(instanceId: string, entries: PolledEntry[], ttlMs: number, now?: number): Promise<void>;
  /** Every entry a live instance waits for (one per id). */
  allWaiting(now?: number): Promise<PolledEntry[]>;
  publishRound(round: PollRound): Promise<void>;
  onRound(listener: (round: PollRound) => void): Promise<() => Promise<void>>;
}

const ROUND_CHANNEL = "poll-round";

// A member is "<createdAt> <id> <status>", and " later" when not due: none of them holds a space.
const encode = (entry: PolledEntry) => `${entry.createdAt} ${entry.id} ${entry.status}${entry.due === false ? " later" : ""}`;
function decode(member: string): PolledEntry | undefined {
  const [createdAt, id, status, later] = member.split(" ");
  if (!createdAt || !id || !status) return undefined;
  return later === "later" ? { createdAt, id, status, due: false } : { createdAt, id, status };
}

function unique(entries: Iterable<PolledEntry>): PolledEntry[] {
  const byId = new Map<string, PolledEntry>();
  // One instance that wants it polled is enough.
  for (const entry of entries) if (!byId.has(entry.id) || byId.get(entry.id)!.due === false) byId.set(entry.id, entry);
  return [...byId.values()];
}

/** One process's share (tests drive several pollers on it, as several instances). */
export class MemoryPollShare implements PollShare {
  private readonly instances = new Map<string, { entries: PolledEntry[]; expiresAt: number }>();
  private readonly listeners = new Set<(round: PollRound) => void>();

  async publishWaiting(instanceId: string, entries: PolledEntry[], ttlMs: number, now = Date.now()): Promise<void> {
    this.instances.set(instanceId, { entries, expiresAt: now + ttlMs });
  }

  async allWaiting(now = Date.now()): Promise<PolledEntry[]> {
    for (const [id, instance] of this.instances) if (instance.expiresAt <= now) this.instances.delete(id);
    return unique([...this.instances.values()].flatMap((instance) => instance.entries));
  }

  async publishRound(round: PollRound): Promise<void> {
    // A copy per delivery, as a message through Redis would be.
    for (const listener of [...this.listeners]) listener(structuredClone(round));
  }

  async onRound(listener: (round: PollRound) => void): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    return async () => void this.listeners.delete(listener);
  }
}

// KEYS: the registry (instance id -> expiry) and this instance's set. ARGV: now, expiry, id, members.
const PUBLISH = luaScript(`
redis.call('DEL', KEYS[2])
for i = 4, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
local ttl = tonumber(ARGV[2]) - tonumber(ARGV[1])
if #ARGV >= 4 then redis.call('PEXPIRE', KEYS[2], math.ceil(ttl)) end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl) + 60000)
return 'ok'
`);

export class RedisPollShare implements PollShare {
  private readonly registry: string;
  private readonly setPrefix: string;

  constructor(
    private readonly connection: RedisConnection,
    name = "poller",
  ) {
    this.registry = connection.key(`poll:${name}:instances`);
    this.setPrefix = connection.key(`poll:${name}:waiting:`);
  }

  async publishWaiting(instanceId: string, entries: PolledEntry[], ttlMs: number, now = Date.now()): Promise<void> {
    const keys = [this.registry, this.setPrefix + instanceId];
    await this.connection.run((redis) => PUBLISH(redis, keys, [now, now + ttlMs, instanceId, ...entries.map(encode)]));
  }

  async allWaiting(now = Date.now()): Promise<PolledEntry[]> {
    // Two commands rather than one script: a script must name every key it touches up front.
    const instances = await this.connection.run((redis) => redis.zrangebyscore(this.registry, `(${now}`, "+inf"));
    if (instances.length === 0) return [];
    const members = await this.connection.run((redis) => redis.sunion(...instances.map((id) => this.setPrefix + id)));
    return unique(members.map(decode).filter((entry): entry is PolledEntry => entry !== undefined));
  }

  async publishRound(round: PollRound): Promise<void> {
    const channel = this.connection.key(ROUND_CHANNEL);
    await this.connection.run((redis) => redis.publish(channel, JSON.stringify(round)));
  }

  onRound(listener: (round: PollRound) => void): Promise<() => Promise<void>> {
    return this.connection.subscribe(ROUND_CHANNEL, (message) => {
      const round = parseRound(message);
      if (round) listener(round);
    });
  }
}

function parseRound(message: string): PollRound | undefined {
  try {
    const round = JSON.parse(message) as Partial<PollRound>;
    if (typeof round.holder !== "string" || typeof round.at !== "number" || !Array.isArray(round.changed)) return undefined;
    const ended = Array.isArray(round.ended) ? round.ended.filter((id): id is string => typeof id === "string") : [];
    const readAt = typeof round.readAt === "number" ? round.readAt : undefined;
    const endedAt: Record<string, number> = {};
    if (typeof round.endedAt === "object" && round.endedAt !== null) {
      for (const id of ended) if (typeof round.endedAt[id] === "number") endedAt[id] = round.endedAt[id];
    }
    return { holder: round.holder, at: round.at, readAt, changed: round.changed.filter(isPrediction), ended, endedAt };
  } catch {
    return undefined;
  }
}
