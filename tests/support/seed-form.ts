// The seed's form fields, as the page gets them: its schema.ts (the fixture, tests/support/seed-schema.ts) through zod's JSON Schema (the
// schema route's own conversion is checked in tests/schema-route.test.ts).
import { z } from "zod";
import { requestBodySchema } from "@/tests/support/seed-schema";
import { toFieldDescriptors, type JsonSchema } from "@/lib/browser/form-schema";
import type { RunRequestBody } from "@/lib/browser/route-types";

export const SEED_INPUT_SCHEMA = z.toJSONSchema(requestBodySchema, { io: "input", unrepresentable: "any" }) as JsonSchema;

export const SEED_FIELDS = toFieldDescriptors(SEED_INPUT_SCHEMA);

type SeedInput = z.input<typeof requestBodySchema>;

/** A body of the seed's fields as the page posts it (any field may also be typed text or a picked file). */
export type SeedRunBody = { [K in keyof SeedInput]?: SeedInput[K] | string | Blob };

/**
 * The seed's body as the page's own type, which follows whatever schema.ts is fitted to: lib/browser
 * reads a body by its field names only, so the seed's body suits it for any model.
 */
export const seedBody = (body: SeedRunBody) => body as unknown as RunRequestBody;

/** The page's body read back with the seed's field names. */
export const asSeedBody = (body: RunRequestBody) => body as unknown as SeedRunBody;
