import "server-only";
// One poller per engine (one account): every prediction the engine waits for is refreshed in
// shared rounds, one round per poll interval, within a per-minute call budget (Replicate allows
// 3,000 non-create calls a minute per account). With few predictions in flight a round GETs each
// one; with many it reads Replicate's list endpoint, where one call reports on up to 100
// predictions. So a thousand predictions in flight cost about ten calls a second, not a thousand,
// and never draw a 429.
//
// A prediction whose logs show a tqdm bar that will be full before the next round is polled alone
// at that moment instead (when the budget has a token to spare): the answer follows the end of
// the run by a fraction of a step, not by half a poll interval, for no more calls. At most once
// per step of a bar: logs that stopped moving get the round rate, never a storm of polls.
//
// The list endpoint holds every prediction of the account (the website's, other apps', other
// instances'), and its entries carry no logs. So a round reads only the pages the waiters' window
// needs (while reading on is cheaper than GETting the waiters not yet seen), GETs the waiters it did not find,
// and GETs a prediction the list shows ended, so that its answer carries its logs.
//
// `current()` is the status read of `GET /api/ai/replicate/{handle}`: concurrent reads of one
// prediction share one call per poll interval, counted against the same budget. `cancel()` is
// `DELETE`'s: one cancel per prediction per poll interval however many ask, on every instance
// together when shared (a turn in the shared store), counted against the same budget too.
//
// A prediction with a stream (`urls.stream`: text and file streams alike) is waited for on it, not
// polled: the stream's `done` says the run ended, to the millisecond, and the prediction is then
// read once (end-watch.ts). Not with webhooks: their delivery says the same, with the prediction,
// for nothing.
//
// A webhook that reports a prediction ended (on this instance, or on another one through the shared
// state's events) answers its waiters at once. With webhooks on, a prediction the list shows ended
// is left to its webhook until WEBHOOK_GRACE_ROUNDS rounds after it ended (its `completed_at`) before it
// is read: the delivery carries the whole prediction, a read would only pay for it twice.
//
// A wait that learns its end another way (its stream, or webhooks) is polled only once in
// COVERED_EVERY_ROUNDS rounds (WEBHOOK_COVERED_EVERY_ROUNDS with webhooks), and gets no ETA poll:
// the fallback, so that a silent stream never strands it, and a lost webhook costs about two
// rounds: the next due poll finds it ended and reads it whole once its grace is over.
//
// With shared state on Redis (REDIS_URL), the account is polled once, not once per instance: each
// instance publishes what it waits for, the instance holding the poller's lease refreshes all of it
// in one round (one list call for up to 100, whichever instance waits for them) and publishes the
// changes, and every instance answers its own waiters from them. The budget is then the account's
// (CallBudget). Another instance takes the lease within about two rounds when the holder dies or
// freezes; an instance that hears no round for FALLBACK_AFTER_ROUNDS polls its own, at a slower pace,
// until one comes, and polls its own as one process would while the shared state is unreachable.
//
// This is a cache of who is waiting, not state: a process that dies loses nothing Replicate
// does not still have.

import type { Config } from "../config";
import { callReplicate, isReplicateOrigin, type CallStats } from "./transport";
import { CallAborted } from "./replicate-errors";
import { EndWatches } from "./end-watch";
import { isTerminal, type Prediction } from "../../shared/prediction";
import { cancelPrediction, getPrediction } from "./predictions";
import type { RateLimitStore } from "../guard/rate-limit";
import { estimateRemainingMs, parseProgress } from "../../shared/progress";
import { readPredictionPage, type PredictionPage } from "../../shared/replicate-objects";
import { TokenBucket } from "./token-bucket";
import type { CallBudget } from "../shared-state/call-budget";
import type { Lease } from "../shared-state/lease";
import type { PolledEntry, PollRound, PollShare } from "../shared-state/poll-share";
import { SharedStateUnavailable } from "../shared-state/redis-connection";
import type { SharedState } from "../shared-state/shared-state";
import type { Clock } from "../clock";
import type { PredictionEvents } from "../shared-state/webhook-state";

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
  /** When it started waiting (a covered wait is polled COVERED_EVERY_ROUNDS rounds after). */
  since: number;
  /** Shared: when it was published due, until a holder's round that read it is heard. */
  handedAt?: number;
  /** When a list (or the holder's round) first showed it ended: its webhook's grace starts there. */
  endedSeenAt?: number;
  resolve: (prediction: Prediction) => void;
  reject: (error: unknown) => void;
}

/** How instances share one account's polling (with shared state on Redis). */
export interface PollSharing {
  instanceId: string;
  lease: Lease;
  share: PollShare;
  /** The account's budget, shared by every instance. */
  budget: CallBudget;
  /** Where instances take turns: one cancel per prediction per interval among them all. */
  turns: RateLimitStore;
}

export interface PollerParts {
  /** Where "this prediction ended" arrives from webhooks (any instance's, when shared). */
  events?: PredictionEvents;
  sharing?: PollSharing;
}

/** The lease lasts two rounds (and a little): a holder that misses one round keeps it. */
const LEASE_ROUNDS = 2.5;
/** What an instance waits for is forgotten three rounds after its last renewal. */
const WAITING_ROUNDS = 3;
/** Rounds without hearing the holder before an instance polls its own... */
const FALLBACK_AFTER_ROUNDS = 4;
/** ...once every this many rounds, until the holder is heard again. */
const FALLBACK_EVERY_ROUNDS = 3;

/** A round uses the list endpoint once it would save calls: from this many waiters on. */
const LIST_FROM_WAITERS = 4;
const PAGE_SIZE = 100;
/** A list's window starts this long before its oldest waiter's `created_at`. */
const LIST_MARGIN_MS = 1000;
/**
 * Pages a round may read before it has seen how dense the account's traffic is: enough for the
 * app's own predictions to be a tenth of it, and always fewer calls than a GET for each waiter.
 */
const pagesFor = (waiters: number) => Math.min(waiters - 1, Math.ceil((waiters * 10) / PAGE_SIZE) + 1);

/**
 * Whether one more page is worth reading: the pages still needed to reach the oldest waiter not
 * yet seen (`msToGo` back in time, at `msPerPage`, as the pages read so far went) are fewer than
 * the GETs the waiters not yet seen would cost. Never more pages than waiters, less one.
 */
function worthAnotherPage(read: number, waiters: number, unseen: number, msPerPage: number, msToGo: number): boolean {
  if (read >= waiters - 1) return false;
  if (read < pagesFor(waiters)) return true;
  if (!(msPerPage > 0)) return false;
  return Math.ceil(msToGo / msPerPage) < unseen;
}
/** Remembered per prediction: the bar step its last targeted poll was for. Bounded. */
const MAX_TARGETED = 10_000;
/** A targeted poll lands this long after the estimated end (tqdm's estimate is per step). */
const ETA_MARGIN_MS = 15;
/** Streams read for their `done` at once, per process; past that, predictions are polled. */
const MAX_END_WATCHES = 100;
/** A wait its stream will end is still polled once in this many rounds. */
const COVERED_EVERY_ROUNDS = 5;
/** A wait its webhook will end is still polled once in this many rounds: a lost delivery costs about two. */
const WEBHOOK_COVERED_EVERY_ROUNDS = 2;
/**
 * With webhooks on, rounds after a prediction ended (its `completed_at`, else when a list first
 * showed it ended) that its webhook is waited for before it is read. Deliveries come within
 * moments of the end; one later than this is taken as lost.
 */
const WEBHOOK_GRACE_ROUNDS = 1.5;

export class Poller {
  private waiting = new Set<Waiter>();
  private running = false;
  private readonly localBudget: TokenBucket;
  private readonly clock: Clock;
  private listening?: Promise<unknown>;
  /** When this instance last heard (or made) a holder's round. */
  private heardAt = 0;
  private rounds = 0;
  private readonly targeted = new Map<string, string>();
  private readonly reads = new Map<string, { at: number; answer: Promise<Prediction> }>();
  private readonly cancels = new Map<string, { at: number; answer: Promise<Prediction> }>();
  private readonly streams: EndWatches;
  /** Predictions a webhook reported ended, and when: another instance's published wait for one is stale. */
  private readonly reportedEnded = new Map<string, number>();

  constructor(
    private readonly config: Config,
    private readonly parts: PollerParts = {},
  ) {
    this.clock = config.engine.clock;
    this.localBudget = new TokenBucket(config.pollBudgetPerMinute, this.clock);
    this.streams = new EndWatches(config, config.webhookUrl ? 0 : MAX_END_WATCHES, (id) => this.streamEnded(id));
  }

  /** The prediction's state at the next round, or sooner when its logs say it is about to end. */
  next(prediction: Prediction, options: PollOptions): Promise<Prediction> {
    if (options.signal.aborted) return Promise.reject(new CallAborted());
    this.listen();
    return new Promise<Prediction>((resolve, reject) => {
      const waiter: Waiter = { prediction, options, resolve, reject, since: this.clock.now() };
      const abort = () => waiter.reject(new CallAborted());
      let cancelTimer = () => {};
      const settle =
        <T>(finish: (value: T) => void) =>
        (value: T) => {
          cancelTimer();
          options.signal.removeEventListener("abort", abort);
          this.waiting.delete(waiter);
          finish(value);
        };
      waiter.resolve = settle((fresh: Prediction) => {
        if (isTerminal(fresh)) this.forget(fresh.id);
        resolve(fresh);
      });
      waiter.reject = settle((error: unknown) => {
        this.forget(prediction.id);
        reject(error);
      });
      options.signal.addEventListener("abort", abort, { once: true });
      this.waiting.add(waiter);
      // Live streams GET every round for their logs anyway: the others wait on the stream's `done`.
      if (!options.needsLogs) this.streams.watch(prediction, options.stats);
      if (this.covered(waiter)) {
        if (!this.running) void this.run();
        return;
      }
      const eta = estimateRemainingMs(prediction.logs);
      const step = barStep(prediction.logs);
      if (
        eta !== null &&
        step !== null &&
        eta + ETA_MARGIN_MS < this.config.pollIntervalMs &&
        this.targeted.get(prediction.id) !== step
      ) {
        cancelTimer = this.clock.startTimer(eta + ETA_MARGIN_MS, () => {
          if (!this.waiting.has(waiter)) return;
          void this.tryTake().then((taken) => {
            if (!taken || !this.waiting.has(waiter)) return;
            this.remember(prediction.id, step);
            void this.get(waiter, false);
          });
        });
      }
      if (!this.running) void this.run();
    });
  }

  get inFlight(): number {
    return this.waiting.size;
  }

  /** True while rounds run (and, when shared, this instance may hold the lease). */
  get polling(): boolean {
    return this.running;
  }

  /** Answers every waiter for `prediction` that has not seen its current status. */
  private deliver(prediction: Prediction): void {
    for (const waiter of this.waiting) {
      if (waiter.prediction.id === prediction.id && (isTerminal(prediction) || prediction.status !== waiter.prediction.status)) {
        waiter.resolve(withLogsOf(waiter, prediction));
      }
    }
  }

  /** Subscribes once to ended predictions (and to the holder's rounds when sharing); tried again after a failure. */
  private listen(): void {
    const { events, sharing } = this.parts;
    if (this.listening || (!events && !sharing)) return;
    this.listening = Promise.all([
      events?.onEnded((prediction) => {
        this.endedReported(prediction.id);
        this.deliver(prediction);
      }),
      sharing?.share.onRound((round) => this.heard(round)),
    ]).catch(() => (this.listening = undefined));
  }

  private endedReported(id: string): void {
    const now = this.clock.now();
    this.reportedEnded.delete(id);
    this.reportedEnded.set(id, now);
    // Kept as long as a published wait lives (WAITING_ROUNDS after its last renewal), bounded.
    const keepMs = this.config.pollIntervalMs * WAITING_ROUNDS + 1000;
    for (const [key, at] of this.reportedEnded) {
      if (now - at < keepMs && this.reportedEnded.size <= MAX_TARGETED) break;
      this.reportedEnded.delete(key);
    }
  }

  private heard(round: PollRound): void {
    if (round.holder === this.parts.sharing?.instanceId) return;
    this.heardAt = this.clock.now();
    for (const prediction of round.changed) this.deliver(prediction);
    const readAt = round.readAt ?? round.at;
    for (const waiter of this.waiting) {
      if (waiter.handedAt !== undefined && readAt >= waiter.handedAt) {
        waiter.since = readAt;
        waiter.handedAt = undefined;
      }
    }
    const ended = new Set(round.ended ?? []);
    for (const waiter of [...this.waiting]) {
      const id = waiter.prediction.id;
      if (ended.has(id) && this.readEnded(waiter, round.endedAt?.[id] ?? readAt)) void this.get(waiter);
    }
  }

  /**
   * The prediction as Replicate has it now, for a status read: one call per poll interval however
   * many read it at once (an answer younger than the interval is shared), within the budget.
   */
  current(id: string, options: { stats?: CallStats } = {}): Promise<Prediction> {
    return this.sharedPerInterval(this.reads, id, () =>
      this.take().then(() => getPrediction(this.config, id, { deadline: this.clock.now() + 10_000, stats: options.stats })),
    );
  }

  /**
   * Cancels the prediction (`DELETE`): one cancel per poll interval however many ask at once or
   * in a row, here and (when shared) on every instance together, within the budget. Whoever is
   * not the one to cancel is answered the prediction as it is now (the shared read, `current`).
   */
  cancel(id: string, options: { stats?: CallStats } = {}): Promise<Prediction> {
    return this.sharedPerInterval(this.cancels, id, async () => {
      if (!(await this.cancelTurn(id))) return this.current(id, options);
      await this.take();
      const canceled = await cancelPrediction(this.config, id, { deadline: this.clock.now() + 10_000, stats: options.stats });
      // The cancel's answer is the prediction as it is now: a status read right after shares it.
      this.reads.set(id, { at: this.clock.now(), answer: Promise.resolve(canceled) });
      return canceled;
    });
  }

  /** True when no other instance canceled this prediction within the interval (or none can be asked). */
  private async cancelTurn(id: string): Promise<boolean> {
    const turns = this.parts.sharing?.turns;
    if (!turns) return true;
    const interval = this.config.pollIntervalMs;
    try {
      return (await turns.take(`cancel-turn:${id}`, { limit: 1, windowMs: interval, text: `1/${interval}ms` }, this.clock.now()))
        .allowed;
    } catch (error) {
      if (error instanceof SharedStateUnavailable) return true;
      throw error;
    }
  }

  /** `make()`'s answer, shared by every call for `id` within one poll interval (a failure is not shared). */
  private sharedPerInterval(
    answers: Map<string, { at: number; answer: Promise<Prediction> }>,
    id: string,
    make: () => Promise<Prediction>,
  ): Promise<Prediction> {
    const now = this.clock.now();
    const recent = answers.get(id);
    if (recent && now - recent.at < this.config.pollIntervalMs) return recent.answer;
    const answer = make();
    answers.set(id, { at: now, answer });
    answer.catch(() => answers.get(id)?.answer === answer && answers.delete(id));
    // Old answers are not kept.
    for (const [key, entry] of answers) if (now - entry.at >= this.config.pollIntervalMs) answers.delete(key);
    return answer;
  }

  /** Nothing more to learn about this prediction (it ended, or its wait did). */
  private forget(id: string): void {
    this.targeted.delete(id);
    if (!this.waitsFor(id)) this.streams.stop(id);
  }

  /** Whether a wait here is still on the prediction. */
  private waitsFor(id: string): boolean {
    for (const waiter of this.waiting) if (waiter.prediction.id === id) return true;
    return false;
  }

  /** Its stream said it ended: each waiter reads it now (whole, with its logs). */
  private streamEnded(id: string): void {
    for (const waiter of [...this.waiting]) if (waiter.prediction.id === id) void this.get(waiter);
  }

  /** Its end will come another way: its stream is open, or webhooks report it (not to live streams, which poll for logs). */
  private covered(waiter: Waiter): boolean {
    if (waiter.options.needsLogs) return false;
    return Boolean(this.config.webhookUrl) || this.streams.watching(waiter.prediction.id);
  }

  /**
   * Waiters a round polls: a covered one once it has waited COVERED_EVERY_ROUNDS rounds (half a
   * round early is on time); one already seen ended only once its webhook's grace is over.
   */
  private roundOf(): Waiter[] {
    const all = [...this.waiting];
    this.streams.keepOnly(new Set(all.map((waiter) => waiter.prediction.id)));
    const every = this.config.webhookUrl ? WEBHOOK_COVERED_EVERY_ROUNDS : COVERED_EVERY_ROUNDS;
    const fallbackMs = (every - 0.5) * this.config.pollIntervalMs;
    const now = this.clock.now();
    return all.filter((waiter) =>
      waiter.endedSeenAt === undefined ? now - waiter.since >= fallbackMs || !this.covered(waiter) : this.readEnded(waiter),
    );
  }

  /**
   * A waiter whose prediction a list (or the holder's round) shows ended: read it whole now, or,
   * with webhooks on, only once its webhook is WEBHOOK_GRACE_ROUNDS rounds late (counted from
   * `endedAt`, when it ended, if known).
   */
  private readEnded(waiter: Waiter, endedAt?: number): boolean {
    if (!this.config.webhookUrl) return true;
    const now = this.clock.now();
    waiter.endedSeenAt ??= endedAt !== undefined && endedAt <= now ? endedAt : now;
    return now - waiter.endedSeenAt >= WEBHOOK_GRACE_ROUNDS * this.config.pollIntervalMs;
  }

  private remember(id: string, step: string): void {
    this.targeted.delete(id);
    this.targeted.set(id, step);
    if (this.targeted.size > MAX_TARGETED) this.targeted.delete(this.targeted.keys().next().value!);
  }

  private async run(): Promise<void> {
    this.running = true;
    // A holder's round may be on its way: fall back only after rounds of silence from now.
    this.heardAt = Math.max(this.heardAt, this.clock.now());
    try {
      while (this.waiting.size > 0) {
        await this.clock.sleep(this.config.pollIntervalMs);
        this.rounds += 1;
        const round = this.roundOf();
        // Shared, a round runs even with nothing due here: it renews the lease and what the holder knows.
        if (round.length === 0 && !this.parts.sharing) continue;
        if (this.parts.sharing) await this.sharedRound(round, this.parts.sharing);
        else await this.refresh(round);
      }
    } finally {
      // Nothing left to wait for here: let an instance that still waits take the lease at once.
      const sharing = this.parts.sharing;
      if (sharing) await sharing.lease.release(sharing.instanceId).catch(() => undefined);
      this.running = false;
      // A wait that arrived while the lease was being given up starts the rounds again.
      if (this.waiting.size > 0) void this.run();
    }
  }

  private async refresh(round: Waiter[]): Promise<void> {
    const viaGet = round.filter((waiter) => waiter.options.needsLogs);
    const viaList = round.filter((waiter) => !waiter.options.needsLogs);
    if (viaList.length >= LIST_FROM_WAITERS) {
      const seen = await this.list(viaList.map(entryOf), deadlineOf(viaList)).catch(() => new Map<string, Prediction>());
      for (const waiter of viaList) {
        // Already being read (its stream said it ended while the list call was out): that read answers it.
        if (!this.waiting.has(waiter)) continue;
        // A running one goes on from its list entry; one that ended, or that the pages did not
        // reach, is read whole: its answer carries the logs a list entry has not.
        const fresh = seen.get(waiter.prediction.id);
        if (fresh && !isTerminal(fresh)) waiter.resolve(withLogsOf(waiter, fresh));
        else if (!fresh || this.readEnded(waiter, endedAtOf(fresh))) viaGet.push(waiter);
      }
    } else {
      viaGet.push(...viaList);
    }
    await Promise.all(viaGet.map((waiter) => this.get(waiter)));
  }

  /**
   * One instance's round when instances share the account: publish what it waits for, then either
   * poll for every instance (the lease holder) or leave it to the holder's round message. Live
   * streams (logs on every round) are always polled by their own instance.
   */
  private async sharedRound(round: Waiter[], sharing: PollSharing): Promise<void> {
    const viaGet = round.filter((waiter) => waiter.options.needsLogs);
    const viaList = round.filter((waiter) => !waiter.options.needsLogs);
    const due = new Set(viaList);
    // Every wait here is published every round (so the holder never forgets one), due or not.
    const entries = [...this.waiting]
      .filter((waiter) => !waiter.options.needsLogs)
      .map((waiter) => ({ ...entryOf(waiter), due: due.has(waiter) }));
    const interval = this.config.pollIntervalMs;
    const now = this.clock.now();
    let holder: boolean;
    try {
      await sharing.share.publishWaiting(sharing.instanceId, entries, interval * WAITING_ROUNDS + 1000, now);
      holder = await sharing.lease.hold(sharing.instanceId, interval * LEASE_ROUNDS, now);
    } catch (error) {
      if (!(error instanceof SharedStateUnavailable)) throw error;
      return this.refresh(round);
    }
    // A covered wait stays due until a holder's round that read it is heard (then: COVERED_EVERY_ROUNDS more).
    const published = this.clock.now();
    for (const waiter of viaList) if (this.covered(waiter) && waiter.endedSeenAt === undefined) waiter.handedAt ??= published;
    if (holder) {
      this.heardAt = now;
      await this.pollForAll(viaList, sharing);
    } else if (now - this.heardAt > interval * FALLBACK_AFTER_ROUNDS && this.rounds % FALLBACK_EVERY_ROUNDS === 0) {
      // No holder heard for a while (it died, froze or lost Redis): Replicate stays the source of truth.
      viaGet.push(...viaList);
    }
    await Promise.all(viaGet.map((waiter) => this.get(waiter)));
  }

  /** The holder's part: refresh what every instance waits for, answer its own, publish the changes. */
  private async pollForAll(own: Waiter[], sharing: PollSharing): Promise<void> {
    const readAt = this.clock.now();
    const remote = await sharing.share.allWaiting(this.clock.now()).catch(() => []);
    // A published wait whose prediction a webhook already reported ended was answered by it: not polled.
    const entries = uniqueEntries([
      ...own.map(entryOf),
      ...remote.filter((entry) => entry.due !== false && !this.reportedEnded.has(entry.id)),
    ]);
    // With nothing to poll the round still goes out (a heartbeat): the others hear a holder.
    const seen =
      entries.length >= LIST_FROM_WAITERS
        ? await this.list(entries, Math.max(deadlineOf(own), this.clock.now() + 10_000)).catch(
            () => new Map<string, Prediction>(),
          )
        : new Map<string, Prediction>();
    // As in one process: one the pages did not reach is read; one that ended is read whole (with
    // its logs) by whoever still waits for it: here for this instance's own, by the others for
    // theirs (a published entry may be a round old, its wait already ended by a webhook).
    const ownIds = new Set(own.map((waiter) => waiter.prediction.id));
    const endedElsewhere = entries.filter(
      (entry) => !ownIds.has(entry.id) && seen.has(entry.id) && isTerminal(seen.get(entry.id)!),
    );
    const told = new Set(endedElsewhere.map((entry) => entry.id));
    // When each ended, for the others' webhook grace.
    const endedAt: Record<string, number> = {};
    for (const entry of endedElsewhere) {
      const at = endedAtOf(seen.get(entry.id)!);
      if (at !== undefined) endedAt[entry.id] = at;
    }
    // This instance's own that ended, while their webhooks may still come, are left to them.
    for (const waiter of own) {
      const fresh = seen.get(waiter.prediction.id);
      if (fresh && isTerminal(fresh) && !this.readEnded(waiter, endedAtOf(fresh))) told.add(waiter.prediction.id);
    }
    for (const id of told) seen.delete(id);
    await Promise.all(
      entries
        .filter(
          (entry) =>
            (!seen.has(entry.id) && !told.has(entry.id)) ||
            (ownIds.has(entry.id) && seen.has(entry.id) && isTerminal(seen.get(entry.id)!)),
        )
        .map(async (entry) => {
          try {
            await this.take();
            // Answered while the round paged or waited for budget (its webhook came): nothing to read it for.
            if (ownIds.has(entry.id) ? !this.waitsFor(entry.id) : this.reportedEnded.has(entry.id)) return;
            seen.set(entry.id, await getPrediction(this.config, entry.id, { deadline: this.clock.now() + 10_000 }));
          } catch {
            // Not known this round; the next one tries again.
          }
        }),
    );
    for (const waiter of own) {
      const fresh = seen.get(waiter.prediction.id);
      if (fresh && this.waiting.has(waiter)) waiter.resolve(withLogsOf(waiter, fresh));
    }
    const changed = entries.flatMap((entry) => {
      const fresh = seen.get(entry.id);
      return fresh && (isTerminal(fresh) || fresh.status !== entry.status) ? [fresh] : [];
    });
    const ended = endedElsewhere.map((entry) => entry.id);
    await sharing.share
      .publishRound({ holder: sharing.instanceId, at: this.clock.now(), readAt, changed, ended, endedAt })
      .catch(() => undefined);
  }

  /**
   * Reads the waiter's prediction whole (with its logs), for it and for every other waiter of that
   * prediction here: followers of one prediction, JSON and event stream alike, share one GET.
   */
  private async get(waiter: Waiter, takeToken = true): Promise<void> {
    // Polled once: a round and a targeted poll that overlap must not both call for it.
    if (!this.waiting.has(waiter)) return;
    const id = waiter.prediction.id;
    const group = [...this.waiting].filter((other) => other.prediction.id === id);
    for (const member of group) this.waiting.delete(member);
    const { signal, dispose } = allAborted(group.map((member) => member.options.signal));
    try {
      if (takeToken) await this.take(signal);
      const fresh = await getPrediction(this.config, id, { signal, deadline: deadlineOf(group), stats: waiter.options.stats });
      for (const member of group) member.resolve(fresh);
    } catch (error) {
      for (const member of group) member.reject(error);
    } finally {
      dispose();
    }
  }

  /** Waits for a call's worth of the budget: the account's when shared, this process's while Redis is unreachable. */
  private async take(signal?: AbortSignal): Promise<void> {
    const shared = this.parts.sharing?.budget;
    if (shared) {
      try {
        return await shared.take(this.clock, signal);
      } catch (error) {
        if (!(error instanceof SharedStateUnavailable)) throw error;
      }
    }
    return this.localBudget.take(signal);
  }

  /** A call's worth of budget now, if there is one, without waiting (for optional calls). */
  private async tryTake(): Promise<boolean> {
    const shared = this.parts.sharing?.budget;
    if (!shared) return this.localBudget.tryTake();
    try {
      return (await shared.tryTake(this.clock.now())).allowed;
    } catch {
      return false;
    }
  }

  /** Pages of the list endpoint, newest first, until every entry is seen, or GETting the rest is cheaper. */
  private async list(entries: PolledEntry[], deadline: number): Promise<Map<string, Prediction>> {
    const wanted = new Set(entries.map((entry) => entry.id));
    // Only the waiters' window: the account's newer traffic is not paged through to reach them.
    // Pages come newest first, so the window ends just past the newest waiter (`created_before`
    // is exclusive, and a `created_at` read to the millisecond may have lost its microseconds).
    const created = entries.map((entry) => Date.parse(entry.createdAt) || this.clock.now());
    const since = new Date(Math.min(...created) - LIST_MARGIN_MS).toISOString();
    const until = new Date(Math.max(...created) + 1).toISOString();
    const createdOf = new Map(entries.map((entry, i) => [entry.id, created[i]]));
    const windowBefore = (at: number) =>
      `/predictions?created_after=${encodeURIComponent(since)}&created_before=${encodeURIComponent(new Date(at).toISOString())}`;
    // How far back in time the pages read went, in all: the account's traffic density.
    let spanRead = 0;
    let top = Math.max(...created) + 1;
    let reached = top;
    const seen = new Map<string, Prediction>();
    let path: string | null | undefined = windowBefore(top);
    for (let page = 0; path && wanted.size > 0; page += 1) {
      const oldestUnseen = Math.min(...[...wanted].map((id) => createdOf.get(id)!));
      if (page > 0 && !worthAnotherPage(page, entries.length, wanted.size, spanRead / page, reached - oldestUnseen)) break;
      await this.take();
      // A page is garbled only without a `results` array: an unreadable entry is left out alone.
      const answer = await callReplicate<unknown>(this.config, {
        method: "GET",
        path,
        idempotent: true,
        deadline,
        timeoutMs: 10_000,
        accept: (data) => readPredictionPage(data) !== null,
      });
      const read = readPredictionPage(answer.data) as PredictionPage;
      for (const result of read.results) {
        if (wanted.delete(result.id)) seen.set(result.id, result);
      }
      const last = Date.parse(read.results.at(-1)?.created_at ?? "");
      if (Number.isFinite(last) && last < reached) {
        spanRead += top - last;
        top = reached = last;
      }
      // Only Replicate's own pages: a `next` link to another origin is not followed (and would get no token).
      const next = read.next;
      path = next && /^https?:\/\//i.test(next) && isReplicateOrigin(this.config, next) ? next : null;
      // The next waiter not yet seen is more than a page's worth of traffic older: the window
      // starts again just past it, skipping the pages between.
      const newestUnseen = Math.max(...[...wanted].map((id) => createdOf.get(id)!));
      if (path && wanted.size > 0 && spanRead > 0 && reached - newestUnseen > spanRead / (page + 1)) {
        top = reached = newestUnseen + 1;
        path = windowBefore(top);
      }
    }
    return seen;
  }
}

/** A running prediction from a list entry (no logs) goes on with the logs its waiter had. */
function withLogsOf(waiter: Waiter, fresh: Prediction): Prediction {
  return isTerminal(fresh) || fresh.logs ? fresh : { ...fresh, logs: waiter.prediction.logs };
}

/** When the prediction ended, as Replicate says (`completed_at`), if it says. */
function endedAtOf(prediction: Prediction): number | undefined {
  const at = Date.parse(prediction.completed_at ?? "");
  return Number.isFinite(at) ? at : undefined;
}

function entryOf(waiter: Waiter): PolledEntry {
  const { id, created_at: createdAt, status } = waiter.prediction;
  return { id, createdAt: createdAt || new Date().toISOString(), status };
}

function uniqueEntries(entries: PolledEntry[]): PolledEntry[] {
  return [...new Map(entries.map((entry) => [entry.id, entry])).values()];
}

function deadlineOf(waiters: Waiter[]): number {
  return Math.max(0, ...waiters.map((waiter) => waiter.options.deadline));
}

/** Which step of which bar the logs end at (`pass:current/total`), or null without a bar. */
function barStep(logs: string | null | undefined): string | null {
  const progress = parseProgress(logs);
  return progress ? `${progress.pass}:${progress.current}/${progress.total}` : null;
}

/** A signal that aborts once every one of `signals` has (a shared call stops when nobody waits for it). */
function allAborted(signals: AbortSignal[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const check = () => {
    if (signals.every((signal) => signal.aborted)) controller.abort();
  };
  for (const signal of signals) signal.addEventListener("abort", check, { once: true });
  check();
  return {
    signal: controller.signal,
    dispose: () => {
      for (const signal of signals) signal.removeEventListener("abort", check);
    },
  };
}

/**
 * The engine's poller (one account, one base URL): created on first use, with the engine's
 * stores' events, and when those are Redis, polling shared with the other instances.
 */
export function pollerFor(config: Config): Poller {
  const state = config.engine.shared();
  if (config.engine.poller?.state !== state)
    config.engine.poller = { state, poller: new Poller(config, pollerParts(config, state)) };
  return config.engine.poller.poller;
}

function pollerParts(config: Config, state: SharedState): PollerParts {
  if (state.kind === "memory") return { events: state.predictionEvents };
  return {
    events: state.predictionEvents,
    sharing: {
      instanceId: state.instanceId,
      lease: state.lease("poller"),
      share: state.pollShare,
      budget: state.callBudget(config.pollBudgetPerMinute),
      turns: state.rateLimits,
    },
  };
}
