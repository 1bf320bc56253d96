"use client";

import type { FormEvent, KeyboardEvent, ReactNode, RefObject } from "react";
import { NO_STYLE, randomSeed, STYLES, type FormValues } from "@/lib/browser/request-body";
import { FieldError, invalidProps } from "./field-error";
import { ImagePicker, type PickedImage } from "./image-picker";

type PredictionFormProps = {
  values: FormValues;
  image: PickedImage | null;
  onChange: (values: Partial<FormValues>) => void;
  onImageChange: (image: PickedImage | null) => void;
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

  function submitOnCtrlEnter(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.currentTarget.form?.requestSubmit();
    }
  }

  return (
    // noValidate: the route is the one validator, and its words are shown next to each field.
    <form className="form" onSubmit={submit} noValidate aria-label="Prediction input" data-testid="prediction-form">
      <div className="field">
        <label className="label" htmlFor="field-prompt">
          Prompt
        </label>
        <textarea
          id="field-prompt"
          name="prompt"
          required
          rows={4}
          placeholder="A lighthouse on a cliff at dusk, volumetric light"
          value={values.prompt}
          onChange={(event) => onChange({ prompt: event.target.value })}
          onKeyDown={submitOnCtrlEnter}
          data-testid="prompt-input"
          {...invalidProps("error-prompt", fieldErrors.prompt)}
        />
        <FieldError id="error-prompt" name="prompt" messages={fieldErrors.prompt} />
      </div>

      <div className="field-row">
        <div className="field">
          <label className="label" htmlFor="field-seed">
            Seed <span className="optional">optional</span>
          </label>
          <div className="input-group">
            <input
              id="field-seed"
              name="seed"
              type="text"
              inputMode="numeric"
              autoComplete="off"
              placeholder="random"
              value={values.seed}
              onChange={(event) => onChange({ seed: event.target.value })}
              data-testid="seed-input"
              {...invalidProps("error-seed", fieldErrors.seed)}
            />
            <button
              type="button"
              className="button button-ghost"
              onClick={() => onChange({ seed: String(randomSeed()) })}
              data-testid="seed-random"
            >
              Random
            </button>
          </div>
          <FieldError id="error-seed" name="seed" messages={fieldErrors.seed} />
        </div>

        <div className="field">
          <label className="label" htmlFor="field-style">
            Style
          </label>
          <select
            id="field-style"
            name="style"
            value={values.style}
            onChange={(event) => onChange({ style: event.target.value })}
            data-testid="style-select"
            {...invalidProps("error-style", fieldErrors.style)}
          >
            {STYLES.map((style) => (
              <option key={style} value={style}>
                {styleLabel(style)}
              </option>
            ))}
          </select>
          <FieldError id="error-style" name="style" messages={fieldErrors.style} />
        </div>
      </div>

      <ImagePicker image={props.image} onChange={props.onImageChange} errors={fieldErrors.image} disabled={running} />

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

function styleLabel(style: string): string {
  if (style === NO_STYLE) return "None";
  const words = style.replace(/-/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
