// POST /api/ai/replicate/webhook: Replicate's signed deliveries; each new one goes to ./on-prediction.ts.
import { replicate } from "@/lib/replicate";

export const POST = replicate.webhook;
