"use client";

import { useEffect, useMemo, useRef, useState } from "react";
import { buildCurlCommand } from "@/lib/browser/curl-command";
import { invalidFieldsByName } from "@/lib/browser/run-report";
import { handleFromUrl } from "@/lib/browser/prediction-url";
import { fieldNames, toFieldDescriptors, type FormValues } from "@/lib/browser/form-schema";
import { toRequestBody } from "@/lib/browser/request-body";
import { ROUTE_PATH } from "@/lib/browser/route-calls";
import { AccessKeyForm } from "./access-key-form";
import { CopyButton } from "./copy-button";
import type { PickedFile } from "./file-picker";
import { PredictionForm } from "./prediction-form";
import { RunPanel } from "./run-panel";
import { useAccessKey } from "./use-access-key";
import { useModelSchemas } from "./use-model-schemas";
import { usePredictionRun } from "./use-prediction-run";

/**
 * The page's one stateful piece: form values in, a run's state out. A run named in the URL
 * (`?prediction=<handle>`, left by a reload) is re-attached at once; a 401 asks for the access key.
 * The form is drawn from the route's own schema, fetched once on load.
 */
export function PredictionPlayground() {
  const [values, setValues] = useState<FormValues>({});
  const [files, setFiles] = useState<Record<string, PickedFile | null>>({});
  const accessKey = useAccessKey();
  const schemas = useModelSchemas(accessKey.getHeaders);
  const ready = schemas.state.kind === "ready" ? schemas.state.schemas : null;
  const fields = useMemo(() => (ready ? toFieldDescriptors(ready.input) : []), [ready]);
  const names = useMemo(() => fieldNames(fields), [fields]);
  const { state, start, attach, retry, cancel } = usePredictionRun(accessKey.getHeaders);
  const runButtonRef = useRef<HTMLButtonElement>(null);
  const running = state.phase === "running";
  const { report } = state;

  const { byField, unplaced } = useMemo(
    () => (report?.kind === "invalid" ? invalidFieldsByName(report.invalidFields, names) : { byField: {}, unplaced: [] }),
    [report, names],
  );

  useEffect(() => {
    const handle = handleFromUrl(window.location.href);
    if (handle) void attach(handle);
  }, [attach]);

  // Send the reader to the first field the route rejected.
  useEffect(() => {
    const first = names.find((name) => byField[name]);
    if (first) document.getElementById(`field-${first}`)?.focus();
  }, [byField, names]);

  // A refused key is no use to keep: the next run would only be refused again.
  const { forget } = accessKey;
  useEffect(() => {
    if (report?.kind === "unauthorized" && report.keyRefused) forget();
  }, [report, forget]);
  const schemasRefused = schemas.state.kind === "unauthorized" && schemas.state.keyRefused;
  useEffect(() => {
    if (schemasRefused) forget();
  }, [schemasRefused, forget]);

  function currentBody() {
    return toRequestBody(fields, values);
  }

  function cancelRun() {
    cancel();
    runButtonRef.current?.focus();
  }

  function submitKey(key: string) {
    accessKey.save(key);
    retry();
  }

  function submitSchemaKey(key: string) {
    accessKey.save(key);
    schemas.reload();
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
        {schemas.state.kind === "loading" && (
          <p className="hint" data-testid="schema-loading">
            Reading the model&apos;s input…
          </p>
        )}
        {schemas.state.kind === "unauthorized" && <AccessKeyForm refused={schemas.state.keyRefused} onSubmit={submitSchemaKey} />}
        {schemas.state.kind === "failed" && (
          <div className="callout callout-danger" role="alert" data-testid="schema-error">
            <p className="callout-title">Could not read the model&apos;s input</p>
            <p className="callout-detail">{schemas.state.message}</p>
            <button type="button" className="button button-ghost" onClick={schemas.reload}>
              Try again
            </button>
          </div>
        )}
        {ready && (
          <PredictionForm
            fields={fields}
            values={values}
            files={files}
            onChange={(changes) => setValues((previous) => ({ ...previous, ...changes }))}
            onFileChange={(name, file) => setFiles((previous) => ({ ...previous, [name]: file }))}
            fieldErrors={byField}
            running={running}
            canceling={state.canceling}
            onSubmit={() => void start(toRequestBody(fields, values, Object.fromEntries(Object.entries(files).map(([name, picked]) => [name, picked?.file]))))}
            onCancel={cancelRun}
            runButtonRef={runButtonRef}
            secondaryActions={
              <CopyButton
                label="Copy curl command"
                getText={() =>
                  buildCurlCommand(new URL(ROUTE_PATH, window.location.origin).href, currentBody(), {
                    authorizationVariable: accessKey.hasKey ? "ROUTE_API_KEY" : undefined,
                    secretFields: fields.filter((field) => field.kind === "text" && field.secret).map((field) => field.name),
                  })
                }
                testId="copy-curl"
              />
            }
          />
        )}
      </section>
      <RunPanel
        state={state}
        unplacedFields={unplaced}
        outputSchema={ready?.output ?? null}
        accessKeyPrompt={report?.kind === "unauthorized" && <AccessKeyForm refused={report.keyRefused} onSubmit={submitKey} />}
      />
    </div>
  );
}
