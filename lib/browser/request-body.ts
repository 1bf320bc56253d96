/**
 * The route's body from what the form holds, driven by the fields the route's schema describes
 * (form-schema.ts).
 */
import { shownValue, type FieldDescriptor, type FormValues } from "./form-schema";
import type { RunRequestBody } from "./route-types";

/**
 * The route's body from what the form holds. A field left as it was is not sent (the model applies
 * its own default); an emptied optional field neither. A required field left as it was is sent as
 * it shows: a text field empty, a slider at its value, a toggle off. Numbers
 * that parse are sent as numbers; anything else is sent as typed, so the route, the one
 * validator, names the problem. A file field with its picked file in `files` carries the file
 * itself (sent as a file part, see `toWireBody`); without it, its data URL.
 */
export function toRequestBody(
  fields: FieldDescriptor[],
  values: FormValues,
  files: Record<string, Blob | null | undefined> = {},
): RunRequestBody {
  const body: Record<string, unknown> = {};
  for (const field of fields) {
    const value = values[field.name];
    const file = field.kind === "file" ? files[field.name] : undefined;
    if (file && value !== null && value !== undefined) {
      body[field.name] = file;
      continue;
    }
    if (value === undefined || value === null) {
      const shown = field.required ? requiredAsShown(field) : undefined;
      if (shown !== undefined) body[field.name] = shown;
      continue;
    }
    if (typeof value === "boolean") {
      body[field.name] = value;
      continue;
    }
    const sent = fieldValue(field, value);
    if (sent !== undefined) body[field.name] = sent;
  }
  return body as RunRequestBody;
}

function requiredAsShown(field: FieldDescriptor): unknown {
  if (field.kind === "text" || field.kind === "textarea") return "";
  if (field.kind === "boolean") return field.default ?? false;
  if (field.kind === "number" && field.slider) return Number(shownValue(field, {}));
  return undefined;
}

function fieldValue(field: FieldDescriptor, value: string): unknown {
  switch (field.kind) {
    case "text":
    case "textarea":
      return value === "" && !field.required ? undefined : value;
    case "number": {
      const text = value.trim();
      if (text === "") return undefined;
      return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text) ? Number(text) : text;
    }
    case "select": {
      if (value === "") return undefined;
      // An enum of numbers comes back from the <select> as text.
      return field.options.find((option) => String(option) === value) ?? value;
    }
    case "json": {
      const text = value.trim();
      if (text === "") return undefined;
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    }
    default:
      return value === "" ? undefined : value;
  }
}

/**
 * The body as sent: JSON, or multipart/form-data when it holds a file, the file sent as it is (no
 * base64: a third fewer bytes, and no 4.5 MB JSON on hosts that cut bodies there). In multipart,
 * numbers and booleans go as their text (the route types them by its schema), other values as JSON.
 */
export function toWireBody(body: RunRequestBody): { body: string | FormData; contentType?: string } {
  const entries = Object.entries(body as Record<string, unknown>);
  if (!entries.some(([, value]) => value instanceof Blob)) return { body: JSON.stringify(body), contentType: "application/json" };
  const form = new FormData();
  for (const [name, value] of entries) {
    if (value instanceof Blob) form.append(name, value, value instanceof File ? value.name : name);
    else
      form.append(
        name,
        typeof value === "string" || typeof value === "number" || typeof value === "boolean"
          ? String(value)
          : JSON.stringify(value),
      );
  }
  // No Content-Type: fetch sets multipart/form-data with its boundary.
  return { body: form };
}

/** A seed most models accept (they commonly read it as a signed 32-bit integer). */
export function randomSeed(random: () => number = Math.random): number {
  return Math.floor(random() * 2 ** 31);
}
