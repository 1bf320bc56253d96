/**
 * Which model `npm run demo` runs: the one app/api/ai/replicate/schema.ts was fitted to, when the
 * simulator serves it; else what to do to see it against Replicate itself.
 */
import { SIMULATED_MODEL } from "./app-harness";
import { DEFAULT_OUT } from "./fit-model/cli";
import type { GeneratedFrom } from "./fit-model/generated-from";
import { catalogueVersion, findSimulatedDeployment } from "./simulator/models";

export type DemoTarget = { env: Record<string, string>; label: string } | { notServed: string };

/**
 * The route's model settings for the model schema.ts was fitted to: all three set, the unused ones
 * empty, so .env.local (which `next start` reads, but never over a variable already set) adds none.
 */
export function demoTarget(from: GeneratedFrom | null): DemoTarget {
  const only = (name: string, value: string) => ({
    REPLICATE_MODEL: "",
    REPLICATE_MODEL_VERSION: "",
    REPLICATE_DEPLOYMENT: "",
    [name]: value,
  });
  if (!from)
    return { env: only("REPLICATE_MODEL", SIMULATED_MODEL), label: `${SIMULATED_MODEL} (${DEFAULT_OUT} names no model)` };
  const pinned = `${from.model}:${from.version}`;
  if (from.deployment && findSimulatedDeployment(...(from.deployment.split("/") as [string, string]))) {
    return { env: only("REPLICATE_DEPLOYMENT", from.deployment), label: `the deployment ${from.deployment} (${pinned})` };
  }
  const served = catalogueVersion(from.model, from.version);
  if (served && served !== "unknown") return { env: only("REPLICATE_MODEL_VERSION", pinned), label: pinned };
  const variable = from.deployment ? `REPLICATE_DEPLOYMENT=${from.deployment}` : `REPLICATE_MODEL_VERSION=${pinned}`;
  const why =
    served === "unknown"
      ? `The simulator serves ${from.model}, but not its version ${from.version.slice(0, 12)}…: fit its latest with npm run model -- ${from.model}, or`
      : `The simulator does not serve ${from.deployment ?? from.model}, the model ${DEFAULT_OUT} is fitted to. To see it on the page,`;
  return {
    notServed: [
      `${why} run the app against Replicate itself:`,
      `  1. put REPLICATE_API_TOKEN=r8_... (https://replicate.com/account/api-tokens) and ${variable} in .env.local`,
      "     (npm run model -- <model> --write-env writes the second);",
      "  2. npm run doctor   checks the token, the model and the schema before anything is billed;",
      "  3. npm run dev      (or npm run build && npm start), then open http://localhost:3000.",
      `To see the demo's own model again: git checkout ${DEFAULT_OUT}.`,
    ].join("\n"),
  };
}
