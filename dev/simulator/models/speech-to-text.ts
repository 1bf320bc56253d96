/** A speech-to-text model in the manner of openai/whisper: an audio file in, its transcription out. */
import { cogOpenApiSchema, enumRef, simulatedModel, type ModelVersion } from "./cog-schema";

export const SPEECH_TO_TEXT_VERSION: ModelVersion = {
  id: "212d6309448b0c93084bf6c4b042fddc4ea996eaa826e68af3eda73467003292",
  created_at: "2026-02-27T16:05:41.000000Z",
  cog_version: "0.13.7",
  openapi_schema: cogOpenApiSchema({
    required: ["audio"],
    input: {
      audio: { type: "string", title: "Audio", format: "uri", "x-order": 0, description: "Audio file to transcribe" },
      language: {
        ...enumRef("language"),
        default: "auto",
        "x-order": 1,
        description: "Language spoken in the audio; auto detects it from the first 30 seconds.",
      },
      translate: {
        type: "boolean",
        title: "Translate",
        default: false,
        "x-order": 2,
        description: "Translate the text to English",
      },
      temperature: {
        type: "number",
        title: "Temperature",
        default: 0,
        minimum: 0,
        maximum: 1,
        "x-order": 3,
        description: "Temperature to use for sampling",
      },
      initial_prompt: {
        type: "string",
        title: "Initial Prompt",
        "x-order": 4,
        description: "Optional text to provide as a prompt for the first window.",
      },
    },
    output: { type: "string" },
    enums: { language: ["auto", "en", "de", "es", "fr", "it", "ja", "nl", "pt", "zh"] },
  }),
};

export const SPEECH_TO_TEXT_MODEL = simulatedModel(
  {
    owner: "simulated",
    name: "speech-to-text",
    description: "Transcribes speech in ten languages.",
    run_count: 7_750_002,
  },
  SPEECH_TO_TEXT_VERSION,
);
