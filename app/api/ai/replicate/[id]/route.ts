// GET /api/ai/replicate/{handle}: the prediction a 202 named in Location (JSON, or streamed as events).
// DELETE /api/ai/replicate/{handle}: cancel it.
import { replicate } from "@/lib/replicate";

export const { GET, DELETE } = replicate;
// The cap (REPLICATE_TIMEOUT_SECONDS, default 60) plus the cancel and the answer: lib/server/route-duration.ts owns this rule.
export const maxDuration = 65;
