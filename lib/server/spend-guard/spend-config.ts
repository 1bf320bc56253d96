import "server-only";
import { z } from "zod";
import { envNumber, optional, parseEnv, type Env } from "../env";
import { parseBudgetRule, type BudgetRule } from "./budget-rule";

/**
 * The spend guard's settings: budgets of model time per caller and for the whole app. Both off by
 * default; parsed apart from the Replicate settings, once per distinct environment.
 */
export interface SpendConfig {
  /** REPLICATE_BUDGET_PER_CALLER: each caller's (the rate limit's client) model time per window. */
  perCaller?: BudgetRule;
  /** REPLICATE_BUDGET_TOTAL: the whole app's model time per window, all callers together. */
  total?: BudgetRule;
  /** What a prediction is reserved at before the model has any settled prediction to go by, in ms. */
  defaultEstimateMs: number;
  /** REPLICATE_PRICE_PER_SECOND: dollars a second of model time, for display only. */
  pricePerSecond?: number;
}

export const SPEND_ENV_NAMES = [
  "REPLICATE_BUDGET_PER_CALLER",
  "REPLICATE_BUDGET_TOTAL",
  "REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS",
  "REPLICATE_PRICE_PER_SECOND",
] as const;

/** A prediction's reservation before the model has settled predictions to estimate from. */
export const DEFAULT_ESTIMATE_SECONDS = 10;

const budget = (description: string) =>
  optional(z.string())
    .transform((value, context) => {
      if (value === undefined) return undefined;
      const rule = parseBudgetRule(value);
      if (!rule) context.addIssue({ code: "custom", message: "must look like 300s/day (windows: minute, hour, day)" });
      return rule ?? undefined;
    })
    .describe(description);

export const spendEnvSchema = z.object({
  REPLICATE_BUDGET_PER_CALLER: budget(
    "Model time each caller (the rate limit's client: the key's holder, your session's user, else the address) may spend per window, " +
      "written `<seconds>s/<minute|hour|day>`, e.g. `300s/day`. Counted in Replicate's `metrics.predict_time`; a request that does not " +
      "fit is answered 402 before anything is created or uploaded. Unset: no per-caller budget.",
  ),
  REPLICATE_BUDGET_TOTAL: budget(
    "Model time the whole app may spend per window, all callers together, e.g. `3600s/day`. Unset: no app budget.",
  ),
  REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS: optional(envNumber(0.001, 86_400, false))
    .transform((v) => v ?? DEFAULT_ESTIMATE_SECONDS)
    .describe(
      "What a prediction is reserved at while the model has no settled prediction yet (afterwards: the median predict time of its " +
        "last few). Never more than the budget it must fit in.",
    ),
  REPLICATE_PRICE_PER_SECOND: optional(envNumber(0, 1000, false)).describe(
    "Dollars a second of model time (your model's price on replicate.com/pricing), to show budgets in money too. Display only.",
  ),
});

export function parseSpendConfig(env: Env): SpendConfig {
  const vars = parseEnv(spendEnvSchema, env);
  return {
    perCaller: vars.REPLICATE_BUDGET_PER_CALLER,
    total: vars.REPLICATE_BUDGET_TOTAL,
    defaultEstimateMs: Math.round(vars.REPLICATE_BUDGET_DEFAULT_ESTIMATE_SECONDS * 1000),
    pricePerSecond: vars.REPLICATE_PRICE_PER_SECOND,
  };
}
