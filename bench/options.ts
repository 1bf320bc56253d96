import { parseArgs } from "node:util";

/**
 * What a benchmark run does. Every figure has a flag and an environment variable (BENCH_*), so a
 * CI job or a slower machine can shorten the run without editing code.
 */
export interface BenchOptions {
  quick: boolean;
  build: boolean;
  /** Added by the simulator before every answer (stands in for the network to Replicate). */
  latencyMs: number;
  /** Repetitions of the 0 s prediction (sequential, interleaved across ways). */
  instantReps: number;
  /** Repetitions of each timed single prediction (2 s, 10 s, past the window). */
  singleReps: number;
  shortRunMs: number;
  longRunMs: number;
  /** The simulated sync window standing in for Replicate's 60 s `Prefer: wait` cap. */
  windowMs: number;
  /** Run time of predictions past the window (must exceed windowMs). */
  pastWindowRunMs: number;
  /**
   * Run times of timed predictions are spread evenly over this many ms around their nominal value
   * (a 2 s prediction takes 1.5 to 2.5 s), so a loop that polls every second meets each prediction
   * at a different phase, as in real life, instead of always just after it ended.
   */
  spreadMs: number;
  crowdSize: number;
  crowdRunMs: number;
  /**
   * Rounds of the in-window crowd: each way runs it this many times, the ways taking turns in a
   * rotating order, and is reported by its median round (by p99 lag). One crowd on a shared 2-core
   * machine can land on a slow moment; the median of three does not hinge on one.
   */
  crowdRounds: number;
  /** Tokens each rate-limit bucket can save up (Replicate does not publish its burst). */
  burst: number;
  createsPerMinute: number;
  othersPerMinute: number;
  /** The scale-out scenario: predictions across three instances, and their run time (past the 5 s sync wait). */
  scaleOutCount: number;
  scaleOutRunMs: number;
  /** Their run times spread over this many ms (the ends arrive at count / spread a second). */
  scaleOutSpreadMs: number;
  /** They arrive at a steady rate over this many ms (0: all at once). */
  scaleOutArriveMs: number;
  /** Foreign predictions (website, other apps) the simulator lists for each of the way's own (0: none). */
  foreignPerOwn: number;
  /**
   * The `--data-urls` variant: held creates answer image files as data URLs of ~400 KB, as Replicate's
   * sync API did for a few weeks in autumn 2024. Off by default: production answers HTTPS URLs.
   */
  dataUrls: boolean;
  /** Only these scenarios / ways (to iterate on one figure); empty = all. */
  onlyScenarios: string[];
  onlyWays: string[];
}

const REPLICATE_SYNC_WINDOW_MS = 60_000;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: env.BENCH_QUICK === "1" },
      "no-build": { type: "boolean", default: env.BENCH_NO_BUILD === "1" },
      "data-urls": { type: "boolean", default: env.BENCH_DATA_URLS === "1" },
      "latency-ms": { type: "string" },
      reps: { type: "string" },
      "instant-reps": { type: "string" },
      crowd: { type: "string" },
      "crowd-rounds": { type: "string" },
      "short-ms": { type: "string" },
      "long-ms": { type: "string" },
      "window-ms": { type: "string" },
      "past-ms": { type: "string" },
      "crowd-ms": { type: "string" },
      "spread-ms": { type: "string" },
      burst: { type: "string" },
      "scale-count": { type: "string" },
      "scale-ms": { type: "string" },
      "scale-spread-ms": { type: "string" },
      "scale-arrive-ms": { type: "string" },
      foreign: { type: "string" },
      only: { type: "string" },
      ways: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick === true;
  const pick = (flag: string | undefined, envName: string, fallback: number, min = 0) =>
    numberOption(flag ?? env[envName], `--${envName.slice(6).toLowerCase().replace(/_/g, "-")}`, fallback, min);

  const crowdSize = pick(values.crowd, "BENCH_CROWD", quick ? 200 : 1000, 1);
  const windowMs = pick(values["window-ms"], "BENCH_WINDOW_MS", 5_000, 1_000);
  const options: BenchOptions = {
    quick,
    build: values["no-build"] !== true,
    latencyMs: pick(values["latency-ms"], "BENCH_LATENCY_MS", 3),
    instantReps: pick(values["instant-reps"], "BENCH_INSTANT_REPS", quick ? 15 : 40, 1),
    singleReps: pick(values.reps, "BENCH_REPS", quick ? 5 : 12, 1),
    shortRunMs: pick(values["short-ms"], "BENCH_SHORT_MS", 2_000),
    longRunMs: pick(values["long-ms"], "BENCH_LONG_MS", 10_000),
    windowMs,
    pastWindowRunMs: pick(values["past-ms"], "BENCH_PAST_MS", windowMs + 3_000),
    spreadMs: pick(values["spread-ms"], "BENCH_SPREAD_MS", 1_000),
    crowdSize,
    // Inside the route's 5 s hold (REPLICATE_SYNC_WAIT_SECONDS), spread included: 3.5 to 4.5 s.
    crowdRunMs: pick(values["crowd-ms"], "BENCH_CROWD_MS", 4_000),
    crowdRounds: pick(values["crowd-rounds"], "BENCH_CROWD_ROUNDS", quick ? 1 : 3, 1),
    // 40% of the crowd: the rest of the creates must wait out their Retry-After.
    burst: pick(values.burst, "BENCH_BURST", Math.max(1, Math.round(crowdSize * 0.4)), 1),
    scaleOutCount: pick(values["scale-count"], "BENCH_SCALE_COUNT", quick ? 200 : 600, 1),
    scaleOutRunMs: pick(values["scale-ms"], "BENCH_SCALE_MS", 8_000, 6_000),
    scaleOutSpreadMs: pick(values["scale-spread-ms"], "BENCH_SCALE_SPREAD_MS", 4_000),
    // 100 a second: the last arrives as the first ends, so all of them are in flight together.
    scaleOutArriveMs: pick(values["scale-arrive-ms"], "BENCH_SCALE_ARRIVE_MS", 6_000),
    createsPerMinute: 600,
    othersPerMinute: 3_000,
    foreignPerOwn: pick(values.foreign, "BENCH_FOREIGN", 9),
    dataUrls: values["data-urls"] === true,
    onlyScenarios: listOption(values.only ?? env.BENCH_ONLY),
    onlyWays: listOption(values.ways ?? env.BENCH_WAYS),
  };
  if (options.pastWindowRunMs - options.spreadMs / 2 <= options.windowMs) {
    throw new Error("--past-ms minus half of --spread-ms must be longer than --window-ms");
  }
  if (options.scaleOutRunMs - options.scaleOutSpreadMs / 2 <= 5_000) {
    throw new Error("--scale-ms minus half of --scale-spread-ms must be longer than the route's 5 s sync wait");
  }
  if (options.longRunMs + options.spreadMs / 2 >= REPLICATE_SYNC_WINDOW_MS)
    throw new Error("--long-ms must end inside Replicate's 60 s window");
  return options;
}

function listOption(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function numberOption(raw: string | undefined, name: string, fallback: number, min: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got ${raw}`);
  return value;
}

const USAGE = `npm run bench -- [options]   (each also as an environment variable BENCH_<NAME>)
  --quick            fewer repetitions, crowds of 200 (try it first)
  --no-build         reuse .next and bench/floor-app/.next
  --data-urls        the data-URL variant: held creates answer image files as ~400 KB data URLs, as
                     Replicate's sync API did in autumn 2024 (default: HTTPS URLs, as production today)
  --latency-ms N     simulated latency per upstream request (default 3)
  --reps N           repetitions of each single prediction (default 12, quick 5)
  --instant-reps N   repetitions of the 0 s prediction (default 40, quick 15)
  --crowd N          predictions in each crowd (default 1000, quick 200)
  --crowd-rounds N   rounds of the in-window crowd per way, ways taking turns; each way is reported by
                     its median round by p99 lag, every round's p99 listed (default 3, quick 1)
  --short-ms/--long-ms N   run times of the short and long single predictions (2000, 10000)
  --window-ms N      simulated sync window standing in for Replicate's 60 s (default 5000)
  --past-ms N        run time of predictions past the window (default window + 3000)
  --crowd-ms N       run time of the in-window crowd's predictions (default 4000: inside the route's 5 s hold)
  --spread-ms N      run times spread evenly over N ms around the nominal one (default 1000, 0 = exact)
  --burst N          rate-limit bucket capacity (default 40% of the crowd)
  --scale-count N    predictions of the scale-out scenario, across three instances (default 600, quick 200)
  --scale-ms N       their run time, past the route's 5 s sync wait (default 8000)
  --scale-spread-ms N   run times spread evenly over N ms around it (default 4000: 6 to 10 s)
  --scale-arrive-ms N   they arrive at a steady rate over N ms (default 6000; 0 = all at once)
  --foreign N        the account's other predictions listed per own one (default 9, as the simulator; 0 = none)
  --only a,b         only these scenarios: instant, short, long, past-window, crowd, crowd-limited, scale-out
  --ways a,b         only these ways: route, official, seed, floor, direct
Environment only: BENCH_CPU_PROFILE=1 writes a CPU profile of every serving process to bench/.work/cpu-profiles.`;
