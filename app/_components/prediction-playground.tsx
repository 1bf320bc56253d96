"use client";

import { useEffect, useMemo, useRef, useState } from "react";
import { buildCurlCommand } from "@/lib/browser/curl-command";
import { invalidFieldsByName } from "@/lib/browser/run-report";
import { handleFromUrl } from "@/lib/browser/prediction-url";
import { EMPTY_FORM, FORM_FIELDS, toRequestBody, type FormValues } from "@/lib/browser/request-body";
import { ROUTE_PATH } from "@/lib/browser/route-calls";
import { AccessKeyForm } from "./access-key-form";
import { CopyButton } from "./copy-button";
import type { PickedImage } from "./image-picker";
import { PredictionForm } from "./prediction-form";
import { RunPanel } from "./run-panel";
import { useAccessKey } from "./use-access-key";
import { usePredictionRun } from "./use-prediction-run";

/**
 * The page's one stateful piece: form values in, a run's state out. A run named in the URL
 * (`?prediction=<handle>`, left by a reload) is re-attached at once; a 401 asks for the access key.
 */
export function PredictionPlayground() {
  const [values, setValues] = useState<FormValues>(EMPTY_FORM);
  const [image, setImage] = useState<PickedImage | null>(null);
  const accessKey = useAccessKey();
  const { state, start, attach, retry, cancel } = usePredictionRun(accessKey.getHeaders);
  const runButtonRef = useRef<HTMLButtonElement>(null);
  const running = state.phase === "running";
  const { report } = state;

  const { byField, unplaced } = useMemo(
    () => (report?.kind === "invalid" ? invalidFieldsByName(report.invalidFields, FORM_FIELDS) : { byField: {}, unplaced: [] }),
    [report],
  );

  useEffect(() => {
    const handle = handleFromUrl(window.location.href);
    if (handle) void attach(handle);
  }, [attach]);

  // Send the reader to the first field the route rejected.
  useEffect(() => {
    const first = FORM_FIELDS.find((name) => byField[name]);
    if (first) document.getElementById(`field-${first}`)?.focus();
  }, [byField]);

  // A refused key is no use to keep: the next run would only be refused again.
  const { forget } = accessKey;
  useEffect(() => {
    if (report?.kind === "unauthorized" && report.keyRefused) forget();
  }, [report, forget]);

  function currentBody() {
    return toRequestBody({ ...values, image: image?.dataUrl ?? null });
  }

  function cancelRun() {
    cancel();
    runButtonRef.current?.focus();
  }

  function submitKey(key: string) {
    accessKey.save(key);
    retry();
  }

  return (
    <div className="playground">
      <section className="panel" aria-labelledby="input-title">
        <div className="panel-header">
          <h2 id="input-title">Input</h2>
          {accessKey.hasKey && (
            <span className="key-status" data-testid="key-status">
              Access key set ·{" "}
              <button type="button" className="link-button" onClick={forget} data-testid="forget-key">
                Forget key
              </button>
            </span>
          )}
        </div>
        <PredictionForm
          values={values}
          image={image}
          onChange={(changes) => setValues((previous) => ({ ...previous, ...changes }))}
          onImageChange={setImage}
          fieldErrors={byField}
          running={running}
          canceling={state.canceling}
          onSubmit={() => void start(currentBody())}
          onCancel={cancelRun}
          runButtonRef={runButtonRef}
          secondaryActions={
            <CopyButton
              label="Copy curl command"
              getText={() =>
                buildCurlCommand(new URL(ROUTE_PATH, window.location.origin).href, currentBody(), {
                  authorizationVariable: accessKey.hasKey ? "ROUTE_API_KEY" : undefined,
                })
              }
              testId="copy-curl"
            />
          }
        />
      </section>
      <RunPanel
        state={state}
        unplacedFields={unplaced}
        accessKeyPrompt={report?.kind === "unauthorized" && <AccessKeyForm refused={report.keyRefused} onSubmit={submitKey} />}
      />
    </div>
  );
}
