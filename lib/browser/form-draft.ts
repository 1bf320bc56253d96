/**
 * The form's values kept across a reload, in this browser's local storage. Picked files are not
 * kept (a data URL of megabytes would fill the storage); everything else comes back as typed.
 */
import type { FormValues } from "./form-schema";
import { keptValues, type HistoryStorage } from "./run-history";

export const DRAFT_STORAGE_KEY = "replicate-form-draft";

export function readDraft(storage: HistoryStorage | null): FormValues {
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(DRAFT_STORAGE_KEY) ?? "{}");
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {};
    const entries = Object.entries(parsed).filter(
      ([, value]) => value === null || typeof value === "string" || typeof value === "boolean",
    );
    return Object.fromEntries(entries) as FormValues;
  } catch {
    return {};
  }
}

export function saveDraft(storage: HistoryStorage | null, values: FormValues): void {
  try {
    storage?.setItem(DRAFT_STORAGE_KEY, JSON.stringify(keptValues(values).values));
  } catch {
    // Storage refused: the form is only lost on a reload.
  }
}
