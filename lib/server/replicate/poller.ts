import "server-only";
import type { Config } from "@/lib/server/config";
import { callReplicate, isReplicateOrigin, type CallStats } from "@/lib/server/replicate/transport";
import { CallAborted } from "@/lib/server/replicate/replicate-errors";
import { isTerminal, type Prediction } from "@/lib/shared/prediction";
import { getPrediction } from "@/lib/server/replicate/predictions";
import { estimateRemainingMs, parseProgress } from "@/lib/shared/progress";
import { ReplicatePredictionPage } from "@/lib/shared/replicate-objects";
import { TokenBucket } from "@/lib/server/replicate/token-bucket";

/**
 * One poller per process and account: every prediction this process waits for is refreshed in
 * shared rounds, one round per poll interval, within a per-minute call budget (Replicate allows
 * 3,000 non-create calls a minute per account). With few predictions in flight a round GETs each
 * one; with many it reads Replicate's list endpoint, where one call reports on up to 100
 * predictions. So a thousand predictions in flight cost about ten calls a second, not a thousand,
 * and never draw a 429.
 *
 * A prediction whose logs show a tqdm bar that will be full before the next round is polled alone
 * at that moment instead (when the budget has a token to spare): the answer follows the end of
 * the run by a fraction of a step, not by half a poll interval, for no more calls. At most once
 * per step of a bar: logs that stopped moving get the round rate, never a storm of polls.
 *
 * The list endpoint holds every prediction of the account (the website's, other apps', other
 * instances'), and its entries carry no logs. So a round reads only the pages the waiters' window
 * needs (bounded, never more calls than GETting each waiter), GETs the waiters it did not find,
 * and GETs a prediction the list shows ended, so that its answer carries its logs.
 *
 * `current()` is the status read of `GET /api/ai/replicate/{handle}`: concurrent reads of one
 * prediction share one call per poll interval, counted against the same budget.
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

type ListPage = ReplicatePredictionPage;

/** A round uses the list endpoint once it would save calls: from this many waiters on. */
const LIST_FROM_WAITERS = 4;
const PAGE_SIZE = 100;
/**
 * Pages a round may read: enough for the app's own predictions to be a tenth of the account's
 * traffic in their window, and always fewer calls than a GET for each waiter.
 */
const pagesFor = (waiters: number) => Math.min(waiters - 1, Math.ceil((waiters * 10) / PAGE_SIZE) + 1);
/** Remembered per prediction: the bar step its last targeted poll was for. Bounded. */
const MAX_TARGETED = 10_000;
/** A targeted poll lands this long after the estimated end (tqdm's estimate is per step). */
const ETA_MARGIN_MS = 15;

export class Poller {
  private waiting = new Set<Waiter>();
  private running = false;
  private readonly budget: TokenBucket;
  private readonly targeted = new Map<string, string>();
  private readonly reads = new Map<string, { at: number; answer: Promise<Prediction> }>();

  constructor(private readonly config: Config) {
    this.budget = new TokenBucket(config.pollBudgetPerMinute);
  }

  /** The prediction's state at the next round, or sooner when its logs say it is about to end. */
  next(prediction: Prediction, options: PollOptions): Promise<Prediction> {
    if (options.signal.aborted) return Promise.reject(new CallAborted());
    return new Promise<Prediction>((resolve, reject) => {
      const waiter: Waiter = { prediction, options, resolve, reject };
      const abort = () => waiter.reject(new CallAborted());
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = <T>(finish: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        options.signal.removeEventListener("abort", abort);
        this.waiting.delete(waiter);
        finish(value);
      };
      waiter.resolve = settle((fresh: Prediction) => {
        if (isTerminal(fresh)) this.targeted.delete(fresh.id);
        resolve(fresh);
      });
      waiter.reject = settle((error: unknown) => {
        this.targeted.delete(prediction.id);
        reject(error);
      });
      options.signal.addEventListener("abort", abort, { once: true });
      this.waiting.add(waiter);
      const eta = estimateRemainingMs(prediction.logs);
      const step = barStep(prediction.logs);
      if (eta !== null && step !== null && eta + ETA_MARGIN_MS < this.config.pollIntervalMs && this.targeted.get(prediction.id) !== step) {
        timer = setTimeout(() => {
          if (!this.waiting.has(waiter) || !this.budget.tryTake()) return;
          this.remember(prediction.id, step);
          void this.get(waiter, false);
        }, eta + ETA_MARGIN_MS);
      }
      if (!this.running) void this.run();
    });
  }

  get inFlight(): number {
    return this.waiting.size;
  }

  /**
   * The prediction as Replicate has it now, for a status read: one call per poll interval however
   * many read it at once (an answer younger than the interval is shared), within the budget.
   */
  current(id: string, options: { stats?: CallStats } = {}): Promise<Prediction> {
    const now = Date.now();
    const recent = this.reads.get(id);
    if (recent && now - recent.at < this.config.pollIntervalMs) return recent.answer;
    const answer = this.budget.take().then(() => getPrediction(this.config, id, { deadline: Date.now() + 10_000, stats: options.stats }));
    this.reads.set(id, { at: now, answer });
    // A failure is not shared with later reads, and old answers are not kept.
    answer.catch(() => this.reads.get(id)?.answer === answer && this.reads.delete(id));
    for (const [key, read] of this.reads) if (now - read.at >= this.config.pollIntervalMs) this.reads.delete(key);
    return answer;
  }

  private remember(id: string, step: string): void {
    this.targeted.delete(id);
    this.targeted.set(id, step);
    if (this.targeted.size > MAX_TARGETED) this.targeted.delete(this.targeted.keys().next().value!);
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
    if (viaList.length >= LIST_FROM_WAITERS) {
      const seen = await this.list(viaList).catch(() => new Map<string, Prediction>());
      for (const waiter of viaList) {
        // A running one goes on from its list entry; one that ended, or that the pages did not
        // reach, is read whole: its answer carries the logs a list entry has not.
        const fresh = seen.get(waiter.prediction.id);
        if (fresh && !isTerminal(fresh)) waiter.resolve({ ...fresh, logs: waiter.prediction.logs });
        else viaGet.push(waiter);
      }
    } else {
      viaGet.push(...viaList);
    }
    await Promise.all(viaGet.map((waiter) => this.get(waiter)));
  }

  private async get(waiter: Waiter, takeToken = true): Promise<void> {
    const { signal, deadline, stats } = waiter.options;
    // Polled once: a round and a targeted poll that overlap must not both call for it.
    if (!this.waiting.delete(waiter)) return;
    try {
      if (takeToken) await this.budget.take(signal);
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
    const maxPages = pagesFor(round.length);
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
        accept: (data) => ReplicatePredictionPage.safeParse(data).success,
      });
      for (const result of answer.data.results) {
        if (wanted.delete(result.id)) seen.set(result.id, result as Prediction);
      }
      // Only Replicate's own pages: a `next` link to another origin is not followed (and would get no token).
      const next = answer.data.next;
      path = next && /^https?:\/\//i.test(next) && isReplicateOrigin(this.config, next) ? next : null;
    }
    return seen;
  }
}

/** Which step of which bar the logs end at (`pass:current/total`), or null without a bar. */
function barStep(logs: string | null | undefined): string | null {
  const progress = parseProgress(logs);
  return progress ? `${progress.pass}:${progress.current}/${progress.total}` : null;
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
