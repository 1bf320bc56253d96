/**
 * A language model in the manner of meta/meta-llama-3-8b-instruct: text in, text out as an
 * iterator of strings (`x-cog-array-type: iterator`, shown concatenated), so it streams tokens.
 */
import { cogOpenApiSchema, simulatedModel, type ModelVersion } from "./cog-schema";

export const LANGUAGE_MODEL_VERSION: ModelVersion = {
  id: "dcaf2d18cd4e18f9947729ed1a0ae207abc53b81f07140b2668e797f71868459",
  created_at: "2026-04-01T09:00:00.000000Z",
  cog_version: "0.14.3",
  openapi_schema: cogOpenApiSchema({
    required: ["prompt"],
    input: {
      prompt: { type: "string", title: "Prompt", "x-order": 0, description: "Prompt to send to the model." },
      system_prompt: {
        type: "string",
        title: "System Prompt",
        default: "You are a helpful assistant.",
        "x-order": 1,
        description: "System prompt to send to the model. This is prepended to the prompt and helps guide system behavior.",
      },
      max_tokens: {
        type: "integer",
        title: "Max Tokens",
        default: 512,
        minimum: 1,
        maximum: 8192,
        "x-order": 2,
        description: "Maximum number of tokens to generate.",
      },
      temperature: {
        type: "number",
        title: "Temperature",
        default: 0.6,
        minimum: 0,
        maximum: 5,
        "x-order": 3,
        description: "The value used to modulate the next token probabilities.",
      },
      top_p: {
        type: "number",
        title: "Top P",
        default: 0.9,
        minimum: 0,
        maximum: 1,
        "x-order": 4,
        description: "A probability threshold for generating the output.",
      },
      stop_sequences: {
        type: "string",
        title: "Stop Sequences",
        "x-order": 5,
        description: "A comma-separated list of sequences to stop generation at.",
      },
    },
    output: {
      type: "array",
      items: { type: "string" },
      "x-cog-array-type": "iterator",
      "x-cog-array-display": "concatenate",
    },
  }),
};

export const LANGUAGE_MODEL = simulatedModel(
  {
    owner: "simulated",
    name: "language-model",
    description: "An 8B instruction-tuned language model.",
    run_count: 3_402_118,
    is_official: true,
  },
  LANGUAGE_MODEL_VERSION,
);
