/**
 * The shapes of GET /models/{owner}/{name} and GET /models/{owner}/{name}/versions/{id}
 * (replicate-openapi.json: schemas_model_response, schemas_version_response), and the OpenAPI
 * document Cog publishes as a version's `openapi_schema`: `components.schemas.Input` / `Output`,
 * enums as named schemas referenced through `allOf`, plus the fixed prediction schemas Cog adds.
 */

export type JsonObject = Record<string, unknown>;

export interface ModelVersion {
  id: string;
  created_at: string;
  cog_version: string;
  openapi_schema: JsonObject;
}

export interface SimulatedModel {
  url: string;
  owner: string;
  name: string;
  description: string;
  visibility: "public" | "private";
  is_official: boolean;
  github_url: string | null;
  paper_url: string | null;
  license_url: string | null;
  run_count: number;
  cover_image_url: string | null;
  default_example: JsonObject | null;
  latest_version: ModelVersion;
}

export interface CogSchemaParts {
  /** `components.schemas.Input.properties` */
  input: Record<string, JsonObject>;
  required: string[];
  output: JsonObject;
  /** Named enum schemas, e.g. `{ aspect_ratio: ["1:1", "16:9"] }`, referenced as `enumRef("aspect_ratio")`. */
  enums?: Record<string, Array<string | number>>;
}

/** A property that takes its values from a named enum schema, the way Cog writes `choices=[...]`. */
export function enumRef(name: string): { allOf: Array<{ $ref: string }> } {
  return { allOf: [{ $ref: `#/components/schemas/${name}` }] };
}

export function cogOpenApiSchema(parts: CogSchemaParts): JsonObject {
  const enums = Object.fromEntries(
    Object.entries(parts.enums ?? {}).map(([name, values]) => [
      name,
      {
        enum: values,
        type: typeof values[0] === "number" ? "integer" : "string",
        title: name,
        description: "An enumeration.",
      },
    ]),
  );
  return {
    openapi: "3.0.2",
    info: { title: "Cog", version: "0.1.0" },
    paths: {
      "/predictions": {
        post: {
          summary: "Predict",
          operationId: "predict_predictions_post",
          requestBody: {
            content: { "application/json": { schema: { $ref: "#/components/schemas/PredictionRequest" } } },
          },
          responses: {
            "200": {
              description: "Successful Response",
              content: { "application/json": { schema: { $ref: "#/components/schemas/PredictionResponse" } } },
            },
          },
        },
      },
    },
    components: {
      schemas: {
        Input: { type: "object", title: "Input", required: parts.required, properties: parts.input },
        Output: { title: "Output", ...parts.output },
        ...enums,
        Status: {
          enum: ["starting", "processing", "succeeded", "canceled", "failed"],
          type: "string",
          title: "Status",
          description: "An enumeration.",
        },
        WebhookEvent: {
          enum: ["start", "output", "logs", "completed"],
          type: "string",
          title: "WebhookEvent",
          description: "An enumeration.",
        },
        PredictionRequest: {
          type: "object",
          title: "PredictionRequest",
          properties: {
            id: { type: "string", title: "Id" },
            input: { $ref: "#/components/schemas/Input" },
            webhook: { type: "string", title: "Webhook", format: "uri", maxLength: 65536, minLength: 1 },
            webhook_events_filter: {
              type: "array",
              items: { $ref: "#/components/schemas/WebhookEvent" },
              default: ["start", "output", "logs", "completed"],
            },
          },
        },
        PredictionResponse: {
          type: "object",
          title: "PredictionResponse",
          properties: {
            id: { type: "string", title: "Id" },
            input: { $ref: "#/components/schemas/Input" },
            output: { $ref: "#/components/schemas/Output" },
            status: { $ref: "#/components/schemas/Status" },
            error: { type: "string", title: "Error" },
            logs: { type: "string", title: "Logs", default: "" },
          },
        },
      },
    },
  };
}

export function simulatedModel(
  fields: Pick<SimulatedModel, "owner" | "name" | "description"> & Partial<SimulatedModel>,
  latestVersion: ModelVersion,
): SimulatedModel {
  return {
    url: `https://replicate.com/${fields.owner}/${fields.name}`,
    visibility: "public",
    is_official: false,
    github_url: null,
    paper_url: null,
    license_url: null,
    run_count: 0,
    cover_image_url: null,
    default_example: null,
    ...fields,
    latest_version: latestVersion,
  };
}
