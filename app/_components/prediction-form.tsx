"use client";

import type { FormEvent, ReactNode, RefObject } from "react";
import type { FieldDescriptor, FormValues } from "@/lib/browser/form-schema";
import type { PickedFile } from "./file-picker";
import { SchemaField } from "./schema-field";

type PredictionFormProps = {
  /** The model's input fields, from the route's schema, in its order. */
  fields: FieldDescriptor[];
  values: FormValues;
  /** The picked files by field name (their data URLs are in `values`). */
  files: Record<string, PickedFile | null>;
  onChange: (values: FormValues) => void;
  onFileChange: (name: string, file: PickedFile | null) => void;
  fieldErrors: Record<string, string[]>;
  running: boolean;
  /** Cancel was pressed and the cancel is on its way. */
  canceling?: boolean;
  onSubmit: () => void;
  onCancel: () => void;
  runButtonRef: RefObject<HTMLButtonElement | null>;
  /** Extra actions beside Run (the curl copy; later others). */
  secondaryActions?: ReactNode;
};

export function PredictionForm(props: PredictionFormProps) {
  const { values, onChange, fieldErrors, running } = props;

  function submit(event: FormEvent) {
    event.preventDefault();
    // Run stays focusable while a run is open (aria-disabled), so Enter must be ignored here.
    if (!running) props.onSubmit();
  }

  const renderField = (field: FieldDescriptor) => (
    <SchemaField
      key={field.name}
      field={field}
      values={values}
      onChange={onChange}
      file={props.files[field.name] ?? null}
      onFileChange={(file) => props.onFileChange(field.name, file)}
      errors={fieldErrors[field.name]}
      running={running}
    />
  );

  return (
    // noValidate: the route is the one validator, and its words are shown next to each field.
    <form className="form" onSubmit={submit} noValidate aria-label="Prediction input" data-testid="prediction-form">
      {toRows(props.fields).map((row) =>
        row.length === 1 ? (
          renderField(row[0])
        ) : (
          <div className="field-row" key={row.map((field) => field.name).join(" ")}>
            {row.map(renderField)}
          </div>
        ),
      )}

      <div className="actions">
        <button
          ref={props.runButtonRef}
          type="submit"
          className="button button-primary"
          aria-disabled={running}
          data-testid="run-button"
        >
          {running ? <span className="spinner" aria-hidden="true" /> : null}
          {running ? "Running…" : "Run"}
        </button>
        {running && (
          <button
            type="button"
            className="button button-danger"
            onClick={props.onCancel}
            disabled={props.canceling}
            data-testid="cancel-button"
          >
            {props.canceling ? "Canceling…" : "Cancel"}
          </button>
        )}
      </div>
      <div className="form-footer">
        <p className="hint">
          <kbd>Ctrl</kbd> + <kbd>Enter</kbd> to run
        </p>
        {props.secondaryActions}
      </div>
    </form>
  );
}

/** Short fields (one-line inputs, selects, toggles) two by two; the others each on their own row. */
function toRows(fields: FieldDescriptor[]): FieldDescriptor[][] {
  const rows: FieldDescriptor[][] = [];
  for (const field of fields) {
    const last = rows.at(-1);
    if (isShort(field) && last?.length === 1 && isShort(last[0])) last.push(field);
    else rows.push([field]);
  }
  return rows;
}

function isShort(field: FieldDescriptor): boolean {
  return (
    field.kind === "text" || field.kind === "select" || field.kind === "boolean" || (field.kind === "number" && !field.slider)
  );
}
