import { createHmac, randomBytes } from "node:crypto";
import type { Scheduler } from "./scheduler";
import type { SimPrediction } from "./sim-prediction";
import type { PredictionJson, WebhookEvent } from "./types";

/**
 * Webhook deliveries signed the Standard Webhooks way, as Replicate sends them: `start` at creation,
 * `output`/`logs` at most every 500 ms while they change, `completed` once terminal (the only one retried).
 */

/** `whsec_` + base64 of the 24 bytes "simulated-replicate-key!". */
export const DEFAULT_WEBHOOK_SECRET = "whsec_c2ltdWxhdGVkLXJlcGxpY2F0ZS1rZXkh";
const PROGRESS_THROTTLE_MS = 500;
const DELIVERY_TIMEOUT_MS = 10_000;

export interface WebhookDelivery {
  predictionId: string;
  event: WebhookEvent;
  url: string;
  /** `webhook-id` header: the same across retries of one message. */
  webhookId: string;
  /** 1 for the first try. */
  attempt: number;
  /** Receiver's HTTP status, or "network-error". */
  status: number | "network-error";
  /** When it was sent, and when the receiver's answer came (epoch ms). */
  sentAt: number;
  at: number;
  headers: Record<string, string>;
  body: string;
}

/** `v1,<base64 HMAC-SHA256 of "${id}.${timestamp}.${body}">` keyed with the decoded secret. */
export function signWebhook(secret: string, webhookId: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return `v1,${createHmac("sha256", key).update(`${webhookId}.${timestamp}.${body}`).digest("base64")}`;
}

export interface WebhookDispatcherOptions {
  secret: string;
  retryDelaysMs: readonly number[];
  scheduler: Scheduler;
  /** Defaults to the global fetch at delivery time (so msw intercepts it in tests). */
  fetch?: typeof fetch;
}

export class WebhookDispatcher {
  readonly deliveries: WebhookDelivery[] = [];

  constructor(private readonly options: WebhookDispatcherOptions) {}

  /** Follows one prediction until it ends, delivering the events its create asked for. */
  async watch(prediction: SimPrediction, url: string, events: ReadonlySet<WebhookEvent>): Promise<void> {
    const { scheduler } = this.options;
    const wantsProgress = events.has("output") || events.has("logs");
    if (events.has("start")) await this.deliver(url, "start", prediction.toJSON());

    let last = prediction.toJSON();
    while (!prediction.isTerminal()) {
      const until = wantsProgress ? Math.max(Date.now() + PROGRESS_THROTTLE_MS, prediction.startsAt) : Infinity;
      if ((await scheduler.waitUntil(until, { prediction })) === "shutdown") return;
      if (prediction.isTerminal()) break;
      const current = prediction.toJSON();
      const outputChanged = events.has("output") && JSON.stringify(current.output) !== JSON.stringify(last.output);
      const logsChanged = events.has("logs") && current.logs !== last.logs;
      if (outputChanged || logsChanged) {
        await this.deliver(url, outputChanged ? "output" : "logs", current);
        last = current;
      }
    }
    if (events.has("completed")) await this.deliver(url, "completed", prediction.toJSON(), this.options.retryDelaysMs);
  }

  private async deliver(
    url: string,
    event: WebhookEvent,
    prediction: PredictionJson,
    retryDelaysMs: readonly number[] = [],
  ): Promise<void> {
    const webhookId = `msg_${randomBytes(12).toString("hex")}`;
    const body = JSON.stringify(prediction);
    for (let attempt = 1; ; attempt++) {
      const status = await this.post(url, event, prediction.id, webhookId, attempt, body);
      const delay = retryDelaysMs[attempt - 1];
      if ((typeof status === "number" && status >= 200 && status < 300) || delay === undefined) return;
      if ((await this.options.scheduler.sleep(delay)) === "shutdown") return;
    }
  }

  private async post(
    url: string,
    event: WebhookEvent,
    predictionId: string,
    webhookId: string,
    attempt: number,
    body: string,
  ): Promise<number | "network-error"> {
    const sentAt = Date.now();
    const timestamp = Math.floor(sentAt / 1000);
    const headers = {
      "content-type": "application/json",
      "user-agent": "simulated-replicate-webhook",
      "webhook-id": webhookId,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signWebhook(this.options.secret, webhookId, timestamp, body),
    };
    const fetchImpl = this.options.fetch ?? globalThis.fetch;
    let status: number | "network-error";
    try {
      const response = await fetchImpl(url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      status = response.status;
      // Read, not `body.cancel()`: under msw (Node) canceling a mocked body never settles.
      await response.arrayBuffer().catch(() => undefined);
    } catch {
      status = "network-error";
    }
    this.deliveries.push({ predictionId, event, url, webhookId, attempt, status, sentAt, at: Date.now(), headers, body });
    return status;
  }
}
