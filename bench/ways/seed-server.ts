import { runSeedBaseline } from "../seed-baseline";
import { serveJsonHandler } from "./json-handler";

/** Child process: the seed's algorithm (the baseline) behind the minimal handler. */
const settings = {
  baseUrl: process.env.REPLICATE_API_BASE_URL!,
  token: process.env.REPLICATE_API_TOKEN!,
  version: process.env.BENCH_SEED_VERSION!,
};

serveJsonHandler((body) => runSeedBaseline(settings, body));
