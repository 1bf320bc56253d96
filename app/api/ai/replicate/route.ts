// POST /api/ai/replicate: validate, map to the model's input, create, wait (or stream, or 202), answer.
// The engine is configured in lib/replicate.ts; the body and its mapping in ./schema.ts.
import { replicate } from "@/lib/replicate";

export const { POST } = replicate;
// The cap (REPLICATE_TIMEOUT_SECONDS, default 60) plus the cancel and the answer: lib/server/route-duration.ts owns this rule.
export const maxDuration = 65;
