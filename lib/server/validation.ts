import "server-only";
import type { z } from "zod";
import { Problem } from "@/lib/server/problem";

/** Parse with a zod schema, or throw a 400 problem naming each bad field, as Replicate's 422 does. */
export function parseOrProblem<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const invalidFields = result.error.issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ field: key, description: "is not a known field" }));
    }
    const field = issue.path.map(String).join(".") || "body";
    const description =
      issue.path.length === 0 && issue.code === "invalid_type"
        ? "must be a JSON object"
        : issue.code === "invalid_type" && isAbsent(value, issue.path)
          ? "is required"
          : issue.message;
    return [{ field, description }];
  });
  const detail = invalidFields.map(({ field, description }) => `${field} ${description}`).join("; ");
  throw invalidFieldsProblem("Invalid request body", `${detail}.`, invalidFields);
}

/** The key at the end of `path` is not in the value at all (a schema's "must be a string" would mislead). */
function isAbsent(value: unknown, path: readonly PropertyKey[]): boolean {
  let parent: unknown = value;
  for (const key of path.slice(0, -1)) {
    if (typeof parent !== "object" || parent === null) return false;
    parent = (parent as Record<PropertyKey, unknown>)[key];
  }
  const last = path.at(-1);
  return typeof parent === "object" && parent !== null && last !== undefined && !(last in parent);
}

export interface InvalidField {
  field: string;
  description: string;
}

/** The 400 every route answers for bad input: `{title, detail, status, invalid_fields}`, like Replicate's 422. */
export function invalidFieldsProblem(title: string, detail: string, invalidFields: InvalidField[]): Problem {
  return new Problem(400, title, detail, { extra: { invalid_fields: invalidFields } });
}
