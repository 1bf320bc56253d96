/**
 * The simulated models: each as GET /models/{owner}/{name} answers it (with
 * `latest_version.openapi_schema`), and every version each has, for GET .../versions/{id}.
 */
import type { ModelVersion, SimulatedModel } from "./cog-schema";
import { FAST_IMAGE_FIRST_VERSION, FAST_IMAGE_MODEL } from "./fast-image";
import { IMAGE_EDIT_MODEL } from "./image-edit";
import { IMAGE_MODEL } from "./image-model";
import { LANGUAGE_MODEL } from "./language-model";
import { SPEECH_TO_TEXT_MODEL } from "./speech-to-text";

export * from "./cog-schema";
export { IMAGE_MODEL, IMAGE_MODEL_VERSION } from "./image-model";
export { FAST_IMAGE_MODEL, FAST_IMAGE_VERSION, FAST_IMAGE_FIRST_VERSION } from "./fast-image";
export { IMAGE_EDIT_MODEL, IMAGE_EDIT_VERSION } from "./image-edit";
export { LANGUAGE_MODEL, LANGUAGE_MODEL_VERSION } from "./language-model";
export { SPEECH_TO_TEXT_MODEL, SPEECH_TO_TEXT_VERSION } from "./speech-to-text";

export const SIMULATED_MODELS: readonly SimulatedModel[] = [
  IMAGE_MODEL,
  FAST_IMAGE_MODEL,
  IMAGE_EDIT_MODEL,
  LANGUAGE_MODEL,
  SPEECH_TO_TEXT_MODEL,
];

const EARLIER_VERSIONS: ReadonlyMap<SimulatedModel, readonly ModelVersion[]> = new Map([
  [FAST_IMAGE_MODEL, [FAST_IMAGE_FIRST_VERSION]],
]);

/** A model's versions, newest first (GET /models/{owner}/{name}/versions lists them so). */
export function modelVersions(model: SimulatedModel): readonly ModelVersion[] {
  return [model.latest_version, ...(EARLIER_VERSIONS.get(model) ?? [])];
}

export function findSimulatedModel(owner: string, name: string): SimulatedModel | undefined {
  return SIMULATED_MODELS.find((model) => model.owner === owner && model.name === name);
}

/** A catalogue model and the version of it a prediction runs. */
export interface CatalogueVersion {
  model: SimulatedModel;
  version: ModelVersion;
}

/** The model a bare version id belongs to, as Replicate names it in the prediction. */
export function findVersionById(id: string): CatalogueVersion | undefined {
  for (const model of SIMULATED_MODELS) {
    const version = modelVersions(model).find((candidate) => candidate.id === id);
    if (version) return { model, version };
  }
  return undefined;
}

/**
 * The catalogue version a create runs: `hidden` (the models endpoint, a bare `owner/name`) is the
 * model's latest. Undefined for a model outside the catalogue; "unknown" for a version it lacks.
 */
export function catalogueVersion(model: string, version: string): CatalogueVersion | "unknown" | undefined {
  const [owner, name] = model.split("/");
  const found = findSimulatedModel(owner, name);
  if (!found) return undefined;
  if (version === "hidden") return { model: found, version: found.latest_version };
  const match = modelVersions(found).find((candidate) => candidate.id === version);
  return match ? { model: found, version: match } : "unknown";
}
