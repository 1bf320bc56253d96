import "server-only";
// The pieces every configuration of the project is parsed with (the route's, the guards', output
// storage's, Redis's): t3-env style, empty counts as unset, and a malformed variable is a 500
// problem naming it, never its value.
import { z } from "zod";
import { Problem } from "./problem";

export type Env = Record<string, string | undefined>;

/** Empty counts as unset, so `FOO=` in an .env file behaves like no FOO at all. */
export const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === "string" && value.trim() === "" ? undefined : value), schema.optional());

/** A number in min..max; `what` (e.g. "must be 0 (off) or a whole number of seconds") says what it must be. */
export const envNumber = (min: number, max: number, integer: boolean, what?: string) => {
  const base = z.coerce.number({ error: what ?? "must be a number" });
  const checked = integer ? base.int(what ?? "must be a whole number") : base;
  return checked.min(min, what ?? `must be at least ${min}`).max(max, `must be at most ${max}`);
};

export function configProblem(detail: string): Problem {
  return new Problem(500, "Server configuration error", detail);
}

/** The variables a schema reads, or a 500 problem naming each malformed one (never its value). */
export function parseEnv<T extends z.ZodType>(schema: T, env: Env): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${String(issue.path[0])} ${issue.message}`);
  throw configProblem(`${problems.join("; ")}.`);
}
