import type { Config } from "@/lib/config";
import { CallAborted, callReplicate, type CallStats } from "@/lib/replicate/client";
import { isPrediction, isTerminal, type Prediction } from "@/lib/replicate/prediction";
import { getPrediction } from "@/lib/replicate/predictions";

/**
 * One poller per process and account: every prediction this process waits for is refreshed in
 * shared rounds, one round per poll interval, within a per-minute call budget (Replicate allows
 * 3,000 non-create calls a minute per account). With few predictions in flight a round GETs each
 * one; with many it reads Replicate's list endpoint, where one call reports on up to 100
 * predictions, and GETs only those that ended (the list leaves out their logs). So a thousand
 * predictions in flight cost about ten calls a second, not a thousand, and never draw a 429.
 *
 * This is a cache of who is waiting, not state: a process that dies loses nothing Replicate
 * does not still have, and every instance polls for its own requests only.
 */
export interface PollOptions {
  signal: AbortSignal;
  deadline: number;
  stats?: CallStats;
  /** The live stream wants logs (progress) on every round: those come only from a GET. */
  needsLogs?: boolean;
}

interface Waiter {
  prediction: Prediction;
  options: PollOptions;
  resolve: (prediction: Prediction) => void;
  reject: (error: unknown) => void;
}

interface ListPage {
  next?: string | null;
  results: unknown[];
}

/** A round uses the list endpoint once it would save calls: from this many waiters on. */
const LIST_FROM_WAITERS = 4;
const PAGE_SIZE = 100;

export class Poller {
  private waiting = new Set<Waiter>();
  private running = false;
  private readonly budget: TokenBucket;

  constructor(private readonly config: Config) {
    this.budget = new TokenBucket(config.pollBudgetPerMinute);
  }

  /** The prediction's state at the next round (a round starts one interval after the last). */
  next(prediction: Prediction, options: PollOptions): Promise<Prediction> {
    if (options.signal.aborted) return Promise.reject(new CallAborted());
    return new Promise<Prediction>((resolve, reject) => {
      const waiter: Waiter = { prediction, options, resolve, reject };
      const abort = () => {
        this.waiting.delete(waiter);
        reject(new CallAborted());
      };
      options.signal.addEventListener("abort", abort, { once: true });
      const settle = <T>(finish: (value: T) => void) => (value: T) => {
        options.signal.removeEventListener("abort", abort);
        this.waiting.delete(waiter);
        finish(value);
      };
      waiter.resolve = settle(resolve);
      waiter.reject = settle(reject);
      this.waiting.add(waiter);
      if (!this.running) void this.run();
    });
  }

  get inFlight(): number {
    return this.waiting.size;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.size > 0) {
        await sleep(this.config.pollIntervalMs);
        const round = [...this.waiting];
        if (round.length > 0) await this.refresh(round);
      }
    } finally {
      this.running = false;
    }
  }

  private async refresh(round: Waiter[]): Promise<void> {
    const viaGet = round.filter((waiter) => waiter.options.needsLogs);
    const viaList = round.filter((waiter) => !waiter.options.needsLogs);
    const ended: Waiter[] = [];
    if (viaList.length >= LIST_FROM_WAITERS) {
      const seen = await this.list(viaList).catch(() => new Map<string, Prediction>());
      for (const waiter of viaList) {
        const fresh = seen.get(waiter.prediction.id);
        if (!fresh) viaGet.push(waiter);
        else if (isTerminal(fresh)) ended.push(waiter);
        else waiter.resolve(fresh);
      }
    } else {
      viaGet.push(...viaList);
    }
    await Promise.all([...viaGet, ...ended].map((waiter) => this.get(waiter)));
  }

  private async get(waiter: Waiter): Promise<void> {
    const { signal, deadline, stats } = waiter.options;
    try {
      await this.budget.take(signal);
      waiter.resolve(await getPrediction(this.config, waiter.prediction.id, { signal, deadline, stats }));
    } catch (error) {
      waiter.reject(error);
    }
  }

  /** Pages of the list endpoint, newest first, until every waiter is seen or pages run out. */
  private async list(round: Waiter[]): Promise<Map<string, Prediction>> {
    const wanted = new Set(round.map((waiter) => waiter.prediction.id));
    const oldest = Math.min(...round.map((waiter) => Date.parse(waiter.prediction.created_at ?? "") || Date.now()));
    const since = new Date(oldest - 1000).toISOString();
    const maxPages = Math.ceil(round.length / PAGE_SIZE) + 2;
    const deadline = Math.max(...round.map((waiter) => waiter.options.deadline));
    const seen = new Map<string, Prediction>();
    let path: string | null | undefined = `/predictions?created_after=${encodeURIComponent(since)}`;
    for (let page = 0; path && page < maxPages && wanted.size > 0; page += 1) {
      await this.budget.take();
      const answer: { data: ListPage } = await callReplicate<ListPage>(this.config, {
        method: "GET",
        path,
        idempotent: true,
        deadline,
        timeoutMs: 10_000,
        accept: (data) => Array.isArray((data as ListPage | null)?.results),
      });
      for (const result of answer.data.results) {
        if (isPrediction(result) && wanted.delete(result.id)) seen.set(result.id, result);
      }
      path = answer.data.next;
    }
    return seen;
  }
}

/** Calls a minute, refilled continuously; `take` waits for a token rather than drawing a 429. */
export class TokenBucket {
  private tokens: number;
  private updated = Date.now();
  private readonly perMs: number;
  private readonly capacity: number;

  constructor(perMinute: number) {
    this.perMs = perMinute / 60_000;
    // A second's worth of burst: enough for a round, never a minute's worth at once.
    this.capacity = Math.max(1, perMinute / 60);
    this.tokens = this.capacity;
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.updated) * this.perMs);
      this.updated = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      if (signal?.aborted) throw new CallAborted();
      await sleep(Math.ceil((1 - this.tokens) / this.perMs));
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const pollers = new WeakMap<Config, Poller>();

/** The poller of this configuration (one account, one base URL): created on first use. */
export function pollerFor(config: Config): Poller {
  let poller = pollers.get(config);
  if (!poller) {
    poller = new Poller(config);
    pollers.set(config, poller);
  }
  return poller;
}
