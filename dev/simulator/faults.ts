import { jsonResponse, throttledResponse, type ThrottleWording } from "./responses";
import { ALL_ENDPOINT_KINDS, type EndpointKind, type Fault } from "./types";

/** Injected failures: a FIFO of scripted ones (`failNext`) and, optionally, seeded random ones. */

export const DROP = Symbol("drop");
export type Drop = typeof DROP;

export interface RandomFaults {
  /** Probability (0..1) that a request gets a fault. */
  rate: number;
  /** Faults to pick from, uniformly. */
  kinds: Fault[];
  /** Endpoints that may fail (default: all). */
  endpoints?: EndpointKind[];
}

export interface FailNextOptions {
  /** How many matching requests get this fault (default 1). */
  times?: number;
  /** For "429": the Retry-After seconds (default 1); null sends no Retry-After header. */
  retryAfterSeconds?: number | null;
  /** For "429": which of Replicate's two wordings the detail uses (default "resets-in"). */
  wording?: ThrottleWording;
}

export interface ChosenFault {
  fault: Fault;
  retryAfterSeconds: number | null;
  wording?: ThrottleWording;
}

interface ScriptedFault extends ChosenFault {
  endpoint: EndpointKind | "any";
  remaining: number;
}

export class FaultPlan {
  private scripted: ScriptedFault[] = [];
  private random: RandomFaults | null;
  private nextRandom: () => number;

  constructor(
    random: RandomFaults | undefined,
    private readonly seed: number,
  ) {
    this.random = random ?? null;
    this.nextRandom = mulberry32(seed);
  }

  failNext(endpoint: EndpointKind | "any", fault: Fault, options: FailNextOptions = {}): void {
    const times = options.times ?? 1;
    if (!(times >= 1)) throw new RangeError(`failNext: times must be >= 1, got ${times}`);
    const retryAfterSeconds = options.retryAfterSeconds === undefined ? 1 : options.retryAfterSeconds;
    this.scripted.push({ endpoint, fault, remaining: times, retryAfterSeconds, wording: options.wording });
  }

  setRandom(random: RandomFaults | null): void {
    this.random = random;
  }

  /** The fault for this request, if any: the oldest matching scripted one first, then a random draw. */
  take(kind: EndpointKind): ChosenFault | null {
    const index = this.scripted.findIndex((s) => s.endpoint === kind || s.endpoint === "any");
    if (index >= 0) {
      const entry = this.scripted[index];
      entry.remaining -= 1;
      if (entry.remaining === 0) this.scripted.splice(index, 1);
      return { fault: entry.fault, retryAfterSeconds: entry.retryAfterSeconds, wording: entry.wording };
    }
    return this.drawRandom(kind);
  }

  get pendingScripted(): number {
    return this.scripted.reduce((sum, s) => sum + s.remaining, 0);
  }

  clear(): void {
    this.scripted = [];
    this.nextRandom = mulberry32(this.seed);
  }

  private drawRandom(kind: EndpointKind): ChosenFault | null {
    const random = this.random;
    if (!random || random.kinds.length === 0) return null;
    if (!(random.endpoints ?? ALL_ENDPOINT_KINDS).includes(kind)) return null;
    if (this.nextRandom() >= random.rate) return null;
    const fault = random.kinds[Math.floor(this.nextRandom() * random.kinds.length)];
    return { fault, retryAfterSeconds: 1 };
  }
}

/** The answer a fault sends instead of the real one ("slow" and "truncated" are handled by the caller). */
export function faultResponse({ fault, retryAfterSeconds, wording }: ChosenFault): Response | Drop {
  switch (fault) {
    case "drop":
      return DROP;
    case "429":
      return throttledResponse(retryAfterSeconds ?? 1, retryAfterSeconds !== null, wording);
    case "500":
      return serverError(500, "Internal Server Error");
    case "502":
      return serverError(502, "Bad Gateway");
    case "503":
      return serverError(503, "Service Unavailable");
    case "html200":
      return new Response(HTML_ERROR_PAGE, { status: 200, headers: { "content-type": "text/html; charset=utf-8" } });
    case "slow":
    case "truncated":
      throw new Error(`faultResponse: "${fault}" changes the real answer, it does not replace it`);
  }
}

/** The real answer with its body cut in half, sent as a 200 (a connection cut mid-body behind a proxy). */
export async function truncatedResponse(response: Response): Promise<Response> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const contentType = response.headers.get("content-type") ?? "application/json";
  return new Response(bytes.slice(0, Math.floor(bytes.length / 2)), {
    status: 200,
    headers: { "content-type": contentType },
  });
}

function serverError(status: number, title: string): Response {
  return jsonResponse(status, { title, detail: `Simulated fault: ${title.toLowerCase()}`, status });
}

// What a CDN or captive portal answers in place of the API: a 200 that is not JSON.
const HTML_ERROR_PAGE = `<!DOCTYPE html>
<html><head><title>Temporarily unavailable</title></head>
<body><h1>Something went wrong</h1><p>The service is temporarily unavailable. Please try again later.</p></body></html>
`;

/** Small seeded PRNG (mulberry32) so runs with the same seed inject the same faults. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
