// GET /api/ai/replicate/download/{handle}/{index}: one output file of a prediction, as an attachment.
import { replicate } from "@/lib/replicate";

export const { download: GET } = replicate;
// One timer, OUTPUT_COPY_TIMEOUT_SECONDS (60 by default), bounds the whole download; plus the answer.
export const maxDuration = 65;
