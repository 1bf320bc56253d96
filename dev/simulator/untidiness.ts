/**
 * Where production Replicate is untidier than a tidy simulator (gathered from Replicate's spec, its
 * docs and the recorded traffic in its official clients' test suites), one switch each. Each is set
 * as production answers today by default, so a suite that runs against the simulator meets
 * production without asking; `TIDY` turns them all off. `syncDataUrls` is the one off by default: a
 * past behaviour kept as an option (the benchmark's `--data-urls` variant).
 */
import { SIMULATED_MODELS } from "./models";

export interface Untidiness {
  /** List entries (`GET /predictions`) carry no `logs`, as the real list's do not. */
  listOmitsLogs: boolean;
  /** Cancel answers carry `logs: null`, as recorded real cancels do. */
  cancelLogsNull: boolean;
  /**
   * Predictions of the same account made elsewhere (the website, other apps), interleaved in the
   * list: `perOwn` of them before each create of this app (9: the app's own are a tenth). false: none.
   */
  foreignTraffic: false | { perOwn: number };
  /** Image predictions have `urls.stream` too: a file stream whose `output` events carry files. */
  imageStreams: boolean;
  /** What a file stream's `output` event carries: a file URL, a data URL, or either (by the seed's parity). */
  fileStreamData: "url" | "data-url" | "by-seed";
  /**
   * A `Prefer: wait` create of an image model whose window runs out answers stale: `starting`
   * although the model runs, or (past half its run) `processing` with `output` already complete.
   * (A text model's held answer is `processing` with its output so far either way, as recorded.)
   */
  staleHeldCreates: boolean;
  /**
   * A held create of an image model answers its files as data URLs (~400 KB each), as the sync API
   * did for a few weeks in autumn 2024 (the cassettes of 2024-10-04); off by default, as production
   * answers HTTPS URLs today. File streams may carry data URLs regardless (`fileStreamData`).
   */
  syncDataUrls: boolean;
  /** Bytes of each output PNG sent as a data URL (its base64 is a third longer). */
  dataUrlBytes: number;
  /**
   * API predictions lose their input, output, logs and files this long after they end
   * (`data_removed: true`, file URLs 404); web predictions are kept. false: kept forever.
   */
  retentionMs: number | false;
  /**
   * 429s of the rate limit: "cycle" through both real wordings ("resets in ~Ns" / "Expected
   * available in N seconds"), with and without Retry-After; "tidy": "resets in ~Ns" with Retry-After.
   */
  throttleAnswers: "cycle" | "tidy";
  /**
   * Models that `/models/{owner}/{name}/predictions` and a bare `owner/name` version accept; any
   * other answers `unofficialModelStatus`. "all": every model is official.
   */
  officialModels: readonly string[] | "all";
  /** 404 `{"detail":"Not found.","status":404}` or 422 "The specified version does not exist". */
  unofficialModelStatus: 404 | 422;
  /**
   * Streams on their own host (`stream.replicate.com` in production), not the API's: the msw adapter
   * serves them on `stream.<api host>`, so a test sees whether the token goes there. The loopback
   * server has one origin for both.
   */
  separateStreamHost: boolean;
  /** Problems as `application/problem+json` and Replicate's 404 without a `title`; "tidy": JSON with titles. */
  problemStyle: "real" | "tidy";
}

/**
 * Models the simulator treats as official: the catalogue's official ones (models/index.ts:
 * simulated/image-model, fast-image, language-model; image-edit and speech-to-text run by version,
 * as most community models do) and the names the project's tests and benchmark use.
 */
export const DEFAULT_OFFICIAL_MODELS: readonly string[] = [
  ...SIMULATED_MODELS.filter((model) => model.is_official).map((model) => `${model.owner}/${model.name}`),
  "owner/model",
  "bench/model",
  "simulated/model",
];

/** Each output PNG of a sync answer: ~300 KB, a data URL of ~400 KB as in the recorded cassettes. */
export const DEFAULT_DATA_URL_BYTES = 300_000;

export const ONE_HOUR_MS = 3_600_000;

export const UNTIDY_DEFAULTS: Untidiness = {
  listOmitsLogs: true,
  cancelLogsNull: true,
  foreignTraffic: { perOwn: 9 },
  imageStreams: true,
  fileStreamData: "by-seed",
  staleHeldCreates: true,
  syncDataUrls: false,
  dataUrlBytes: DEFAULT_DATA_URL_BYTES,
  retentionMs: ONE_HOUR_MS,
  throttleAnswers: "cycle",
  officialModels: DEFAULT_OFFICIAL_MODELS,
  unofficialModelStatus: 404,
  separateStreamHost: true,
  problemStyle: "real",
};

/** Everything off: the tidy simulator of before (for a test that must not meet one behaviour yet). */
export const TIDY: Untidiness = {
  ...UNTIDY_DEFAULTS,
  listOmitsLogs: false,
  cancelLogsNull: false,
  foreignTraffic: false,
  imageStreams: false,
  fileStreamData: "url",
  staleHeldCreates: false,
  syncDataUrls: false,
  retentionMs: false,
  throttleAnswers: "tidy",
  officialModels: "all",
  separateStreamHost: false,
  problemStyle: "tidy",
};

/** Replicate's low-credit limits (no payment method): 6 creates a minute, 1 request a second, burst 1. */
export const LOW_CREDIT_RATE_LIMITS = { createPerMinute: 6, otherPerMinute: 60, burst: 1 } as const;

/**
 * Retries of the `completed` webhook as Replicate spaces them: exponential backoff, the last try
 * about a minute after completion. The simulator scales them (`webhookRetryScale`, default 1/100).
 */
export const REPLICATE_WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000];
export const DEFAULT_WEBHOOK_RETRY_SCALE = 0.01;

export function isOfficialModel(untidy: Untidiness, model: string): boolean {
  return untidy.officialModels === "all" || untidy.officialModels.includes(model);
}
