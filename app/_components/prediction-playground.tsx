"use client";

import { useEffect, useMemo, useRef, useState } from "react";
import { buildCurlCommand } from "@/lib/client/curl-command";
import { invalidFieldsByName } from "@/lib/client/describe-outcome";
import { EMPTY_FORM, FORM_FIELDS, toRequestBody, type FormValues } from "@/lib/client/request-body";
import { ROUTE_PATH } from "@/lib/client/run-prediction";
import { CopyButton } from "./copy-button";
import type { PickedImage } from "./image-picker";
import { PredictionForm } from "./prediction-form";
import { RunPanel } from "./run-panel";
import { usePredictionRun } from "./use-prediction-run";

/**
 * The page's one stateful piece: form values in, a run's state out. New capabilities (an API key,
 * re-attaching to a running prediction) plug in here: a header for `runPrediction`, events for the reducer.
 */
export function PredictionPlayground() {
  const [values, setValues] = useState<FormValues>(EMPTY_FORM);
  const [image, setImage] = useState<PickedImage | null>(null);
  const { state, start, cancel } = usePredictionRun();
  const runButtonRef = useRef<HTMLButtonElement>(null);
  const running = state.phase === "running";

  const { byField, unplaced } = useMemo(
    () => (state.outcome?.kind === "invalid" ? invalidFieldsByName(state.outcome.invalidFields, FORM_FIELDS) : { byField: {}, unplaced: [] }),
    [state.outcome],
  );

  // Send the reader to the first field the route rejected.
  useEffect(() => {
    const first = FORM_FIELDS.find((name) => byField[name]);
    if (first) document.getElementById(`field-${first}`)?.focus();
  }, [byField]);

  function currentBody() {
    return toRequestBody({ ...values, image: image?.dataUrl ?? null });
  }

  function cancelRun() {
    cancel();
    runButtonRef.current?.focus();
  }

  return (
    <div className="playground">
      <section className="panel" aria-labelledby="input-title">
        <div className="panel-header">
          <h2 id="input-title">Input</h2>
        </div>
        <PredictionForm
          values={values}
          image={image}
          onChange={(changes) => setValues((previous) => ({ ...previous, ...changes }))}
          onImageChange={setImage}
          fieldErrors={byField}
          running={running}
          onSubmit={() => void start(currentBody())}
          onCancel={cancelRun}
          runButtonRef={runButtonRef}
          secondaryActions={
            <CopyButton
              label="Copy curl command"
              getText={() => buildCurlCommand(new URL(ROUTE_PATH, window.location.origin).href, currentBody())}
              testId="copy-curl"
            />
          }
        />
      </section>
      <RunPanel state={state} unplacedFields={unplaced} />
    </div>
  );
}
