// POST /api/ai/replicate/webhook: Replicate's signed deliveries; each new one goes to ./on-prediction.ts.
import { replicate } from "@/lib/replicate";

export const POST = replicate.webhook;
// The work after the answer (the outputs' copies) is bounded by OUTPUT_COPY_TIMEOUT_SECONDS (60 s by
// default); a serverless host runs it within this limit. Raise both together.
export const maxDuration = 75;
