import "server-only";
import type { Config } from "../config";
import { replicateEvents } from "./replicate-stream";
import type { CallStats } from "./transport";
import { isTerminal, type Prediction } from "../../shared/prediction";
import { streamUrlOf } from "../../shared/replicate-objects";

/** Predictions remembered as read once (their stream is not opened again). */
const MAX_SPENT = 10_000;

/**
 * Replicate's own word that a prediction ended: its `urls.stream` (text and file streams alike)
 * sends `done` the moment the run ends. The poller reads it for a prediction it waits for past the
 * create's hold, instead of asking every round: the end is known to the millisecond, for one
 * connection however long the run, and a stream is no API call (no token, no rate limit). Only
 * `done` (or `error`) is acted on; the outputs still come from the prediction, read once after.
 *
 * A stream that fails or closes early is dropped, and not opened again for that prediction: the
 * poller's rounds take it back. At most `max` are open at once; beyond that, rounds it is.
 */
export class EndWatches {
  private readonly open = new Map<string, AbortController>();
  /** Predictions whose stream was read and ended (bounded): not opened twice. */
  private readonly spent = new Set<string>();

  constructor(
    private readonly config: Config,
    private readonly max: number,
    /** The stream said the prediction ended (`done`) or errored: read it now. */
    private readonly onEnd: (id: string) => void,
  ) {}

  /** True while a stream of this prediction is open. */
  watching(id: string): boolean {
    return this.open.has(id);
  }

  get size(): number {
    return this.open.size;
  }

  /** Opens the prediction's stream unless one is open; true when one is (now or already). `stats` counts it. */
  watch(prediction: Prediction, stats?: CallStats): boolean {
    if (this.open.has(prediction.id)) return true;
    const url = streamUrlOf(prediction);
    if (!url || isTerminal(prediction) || this.open.size >= this.max || this.spent.has(prediction.id)) return false;
    const controller = new AbortController();
    this.open.set(prediction.id, controller);
    void this.read(prediction.id, url, controller, stats);
    return true;
  }

  stop(id: string): void {
    this.open.get(id)?.abort();
    this.open.delete(id);
  }

  /** Stops every stream whose prediction nobody waits for any more. */
  keepOnly(ids: Set<string>): void {
    for (const id of [...this.open.keys()]) if (!ids.has(id)) this.stop(id);
  }

  private async read(id: string, url: string, controller: AbortController, stats?: CallStats): Promise<void> {
    let ended = false;
    try {
      for await (const event of replicateEvents(this.config, url, controller.signal, {
        stats,
        idleMs: this.config.timeoutSeconds * 1000,
      })) {
        if (event.event === "done" || event.event === "error") {
          ended = true;
          break;
        }
      }
    } catch {
      // A stream is a shortcut, not the source of truth: the rounds take over.
    } finally {
      if (this.open.get(id) === controller) this.open.delete(id);
      controller.abort();
      this.spent.add(id);
      if (this.spent.size > MAX_SPENT) this.spent.delete(this.spent.values().next().value!);
    }
    if (ended) this.onEnd(id);
  }
}
