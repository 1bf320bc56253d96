// GET/HEAD /api/ai/replicate/outputs/{token}: a kept output file (OUTPUT_STORAGE=fs); the URL is its own key.
import { replicate } from "@/lib/replicate";

export const GET = replicate.outputs;
export const HEAD = replicate.outputs;
