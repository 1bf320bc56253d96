// The seed's form fields, as the page gets them: its schema.ts through zod's JSON Schema (the
// schema route's own conversion is checked in tests/schema-route.test.ts).
import { z } from "zod";
import { requestBodySchema } from "@/app/api/ai/replicate/schema";
import { toFieldDescriptors, type JsonSchema } from "@/lib/browser/form-schema";

export const SEED_INPUT_SCHEMA = z.toJSONSchema(requestBodySchema, { io: "input", unrepresentable: "any" }) as JsonSchema;

export const SEED_FIELDS = toFieldDescriptors(SEED_INPUT_SCHEMA);
