"use client";

import type { KeyboardEvent } from "react";
import { labelOf, shownValue, type FieldDescriptor, type FormValues } from "@/lib/browser/form-schema";
import { randomSeed } from "@/lib/browser/request-body";
import { FieldError } from "./field-error";
import { FilePicker, type PickedFile } from "./file-picker";

type SchemaFieldProps = {
  field: FieldDescriptor;
  values: FormValues;
  onChange: (changes: FormValues) => void;
  file: PickedFile | null;
  onFileChange: (file: PickedFile | null) => void;
  errors?: string[];
  running: boolean;
};

/**
 * One field of the model's input, drawn from its descriptor: ids `field-{name}`, test ids
 * `{name}-input` (`{name}-select` for selects), errors `field-error-{name}`. A default shows as
 * the initial value or placeholder and is not sent unless the field is changed.
 */
export function SchemaField({ field, values, onChange, file, onFileChange, errors, running }: SchemaFieldProps) {
  const { name } = field;
  if (field.kind === "file") {
    return (
      <FilePicker
        name={name}
        label={field.label}
        accept={field.accept}
        required={field.required}
        description={field.description}
        file={file}
        onChange={(picked) => {
          onFileChange(picked);
          onChange({ [name]: picked?.dataUrl ?? null });
        }}
        errors={errors}
        disabled={running}
      />
    );
  }
  const id = `field-${name}`;
  const errorId = `error-${name}`;
  const helpId = `help-${name}`;
  const invalid = Boolean(errors?.length);
  const describedBy = [field.description ? helpId : "", invalid ? errorId : ""].filter(Boolean).join(" ") || undefined;
  const aria = { "aria-invalid": invalid || undefined, "aria-describedby": describedBy };
  const value = shownValue(field, values);
  const set = (text: string | boolean) => onChange({ [name]: text });
  const hasDefault = "default" in field && field.default !== undefined;

  return (
    <div className="field">
      <label className="label" htmlFor={id}>
        {field.label}
        {/* A select or toggle always shows its value; the others may be left empty. */}
        {!field.required && !hasDefault && field.kind !== "select" && field.kind !== "boolean" && (
          <>
            {" "}
            <span className="optional">optional</span>
          </>
        )}
        {field.kind === "number" && field.slider && (
          <output className="slider-value" htmlFor={id}>
            {value}
          </output>
        )}
      </label>
      {renderInput()}
      {field.description && (
        <p className="hint" id={helpId}>
          {field.description}
        </p>
      )}
      <FieldError id={errorId} name={name} messages={errors} />
    </div>
  );

  function renderInput() {
    switch (field.kind) {
      case "textarea":
      case "json":
        return (
          <textarea
            id={id}
            name={name}
            required={field.required}
            rows={field.kind === "json" ? 3 : 4}
            placeholder={field.kind === "json" ? jsonPlaceholder(field.default) : (field.default ?? field.placeholder)}
            value={value}
            onChange={(event) => set(event.target.value)}
            onKeyDown={submitOnCtrlEnter}
            data-testid={`${name}-input`}
            {...aria}
          />
        );
      case "text":
        return (
          <input
            id={id}
            name={name}
            type={field.secret ? "password" : "text"}
            autoComplete="off"
            required={field.required}
            placeholder={field.default ?? field.placeholder}
            value={value}
            onChange={(event) => set(event.target.value)}
            data-testid={`${name}-input`}
            {...aria}
          />
        );
      case "number":
        if (field.slider) {
          return (
            <input
              id={id}
              name={name}
              type="range"
              min={field.min}
              max={field.max}
              step={field.step}
              value={value}
              onChange={(event) => set(event.target.value)}
              data-testid={`${name}-input`}
              {...aria}
            />
          );
        }
        return (
          <div className="input-group">
            <input
              id={id}
              name={name}
              type="text"
              inputMode={field.integer ? "numeric" : "decimal"}
              autoComplete="off"
              placeholder={field.default !== undefined ? String(field.default) : isSeed(field) ? "random" : rangeText(field)}
              value={value}
              onChange={(event) => set(event.target.value)}
              data-testid={`${name}-input`}
              {...aria}
            />
            {isSeed(field) && (
              <button
                type="button"
                className="button button-ghost"
                onClick={() => set(String(randomSeed()))}
                data-testid={`${name}-random`}
              >
                Random
              </button>
            )}
          </div>
        );
      case "select":
        return (
          <select
            id={id}
            name={name}
            value={value}
            onChange={(event) => set(event.target.value)}
            data-testid={`${name}-select`}
            {...aria}
          >
            {field.default === undefined && (
              <option value="">{field.required ? "Choose…" : field.presetsOnly ? "None" : "—"}</option>
            )}
            {field.options.map((option) => (
              <option key={String(option)} value={String(option)}>
                {field.presetsOnly ? labelOf(String(option)) : String(option)}
              </option>
            ))}
          </select>
        );
      case "boolean":
        return (
          <label className="toggle">
            <input
              id={id}
              name={name}
              type="checkbox"
              // biome-ignore lint/a11y/useAriaPropsForRole: a checkbox input exposes its checked state natively; ARIA in HTML says not to add aria-checked.
              role="switch"
              checked={typeof values[name] === "boolean" ? (values[name] as boolean) : (field.default ?? false)}
              onChange={(event) => set(event.target.checked)}
              data-testid={`${name}-input`}
              {...aria}
            />
            <span>{(typeof values[name] === "boolean" ? values[name] : field.default) ? "On" : "Off"}</span>
          </label>
        );
    }
  }
}

/** An integer named seed gets the dice: a random one in the range most models take. */
function isSeed(field: FieldDescriptor): boolean {
  return field.kind === "number" && field.integer && /^seed$/i.test(field.name);
}

function rangeText(field: Extract<FieldDescriptor, { kind: "number" }>): string | undefined {
  if (field.min !== undefined && field.max !== undefined) return `${field.min} to ${field.max}`;
  if (field.min !== undefined) return `${field.min} or more`;
  if (field.max !== undefined) return `up to ${field.max}`;
  return undefined;
}

function jsonPlaceholder(value: unknown): string | undefined {
  return value === undefined ? "JSON" : JSON.stringify(value);
}

function submitOnCtrlEnter(event: KeyboardEvent<HTMLTextAreaElement>) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    event.currentTarget.form?.requestSubmit();
  }
}
