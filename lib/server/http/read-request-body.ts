import "server-only";
// The route's body reader: JSON, or `multipart/form-data` read into the same fields (see
// read-multipart-body.ts), both under the same body limit, time limit and body budget.

import { z } from "zod";
import { readJsonBody } from "./read-json-body";
import { isMultipart, readMultipartBody, type FieldTypes } from "./read-multipart-body";

const fieldTypes = new WeakMap<z.ZodType, FieldTypes>();

/** The body's fields, for `schema` to check; multipart text parts are typed by `schema`'s JSON Schema. */
export async function readRequestBody(request: Request, maxBytes: number, schema: z.ZodType): Promise<unknown> {
  if (!isMultipart(request)) return readJsonBody(request, maxBytes);
  let types = fieldTypes.get(schema);
  if (!types) fieldTypes.set(schema, (types = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as FieldTypes));
  return readMultipartBody(request, maxBytes, types);
}
