"use client";

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { buildCurlCommand } from "@/lib/browser/curl-command";
import { fetchOutputFile, saveFile } from "@/lib/browser/download";
import { readDraft, saveDraft } from "@/lib/browser/form-draft";
import { toOutputView } from "@/lib/browser/output-view";
import { historyPatchOf, readHistory, withEntry, withoutEntry, writeHistory, type HistoryEntry } from "@/lib/browser/run-history";
import { invalidFieldsByName } from "@/lib/browser/run-report";
import { handleFromUrl } from "@/lib/browser/prediction-url";
import { fieldNames, toFieldDescriptors, type FormValues } from "@/lib/browser/form-schema";
import { toRequestBody } from "@/lib/browser/request-body";
import { ROUTE_PATH } from "@/lib/browser/route-calls";
import { AccessKeyForm } from "./access-key-form";
import { CopyButton } from "./copy-button";
import type { PickedFile } from "./file-picker";
import { PredictionForm } from "./prediction-form";
import { RunHistory } from "./run-history";
import { RunPanel } from "./run-panel";
import { SimulatorBanner } from "./simulator-banner";
import { useAccessKey } from "./use-access-key";
import { useModelSchemas } from "./use-model-schemas";
import { usePredictionRun } from "./use-prediction-run";

/**
 * The page's one stateful piece: form values in, a run's state out. A run named in the URL
 * (`?prediction=<handle>`, left by a reload) is re-attached at once; a 401 asks for the access key.
 * The form is drawn from the route's own schema, fetched once on load. Every run this browser
 * starts or opens is kept in its history (local storage), and the form's values survive a reload.
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
  const resultRef = useRef<HTMLElement>(null);
  const running = state.phase === "running";
  const { report } = state;
  const [history, setHistory] = useState<HistoryEntry[]>([]);
  const [downloading, setDownloading] = useState<ReadonlySet<number>>(new Set());
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const [inputsNote, setInputsNote] = useState<string | null>(null);
  // Nothing is written back before what was stored has been read.
  const [restored, setRestored] = useState(false);

  const { byField, unplaced } = useMemo(
    () => (report?.kind === "invalid" ? invalidFieldsByName(report.invalidFields, names) : { byField: {}, unplaced: [] }),
    [report, names],
  );

  // On load: the history and the form as they were left, then the run the URL names (re-attached,
  // its timer counting from when it began).
  useEffect(() => {
    const stored = readHistory(storage());
    const draft = readDraft(storage());
    setHistory(stored);
    setValues((current) => ({ ...draft, ...current }));
    setRestored(true);
    const handle = handleFromUrl(window.location.href);
    if (handle) void attach(handle, stored.find((entry) => entry.handle === handle)?.createdAt);
  }, [attach]);

  useEffect(() => {
    if (restored) saveDraft(storage(), values);
  }, [values, restored]);

  useEffect(() => {
    if (restored) writeHistory(storage(), history);
  }, [history, restored]);

  // The run on screen, kept in the history as it goes.
  const outputSchema = ready?.output ?? null;
  useEffect(() => {
    const patch = historyPatchOf(state, outputSchema);
    if (patch) setHistory((entries) => withEntry(entries, patch));
  }, [state, outputSchema]);

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

  /** Starts a run of `formValues`; on a phone, brings its progress into view. */
  function startRun(formValues: FormValues, pickedFiles: Record<string, PickedFile | null>) {
    setDownloadError(null);
    setInputsNote(null);
    const body = toRequestBody(
      fields,
      formValues,
      Object.fromEntries(Object.entries(pickedFiles).map(([name, picked]) => [name, picked?.file])),
    );
    void start(body, formValues);
    requestAnimationFrame(() => revealProgress(resultRef.current));
  }

  function openRun(entry: HistoryEntry) {
    setDownloadError(null);
    if (state.handle === entry.handle && running) return;
    void attach(entry.handle, entry.createdAt);
    requestAnimationFrame(() => revealProgress(resultRef.current));
  }

  function copyInputs(entry: HistoryEntry): boolean {
    if (!entry.values) return false;
    setValues(entry.values);
    setFiles({});
    const missing = entry.droppedFiles.filter((name) => names.includes(name));
    setInputsNote(missing.length > 0 ? `Pick the ${missing.join(", ")} file again: files are not kept in the history.` : null);
    return missing.length === 0;
  }

  function runAgain(entry: HistoryEntry) {
    if (running || !entry.values) return;
    if (copyInputs(entry)) startRun(entry.values, {});
  }

  function removeRun(entry: HistoryEntry) {
    setHistory((entries) => withoutEntry(entries, entry.handle));
  }

  const downloadFiles = useCallback(
    async (indexes: number[]) => {
      const handle = state.handle;
      if (!handle) return;
      setDownloadError(null);
      setDownloading(new Set(indexes));
      try {
        // One after another: browsers let a page start several downloads, not all at once.
        for (const index of indexes) saveFile(await fetchOutputFile(handle, index, { headers: accessKey.getHeaders() }));
      } catch (error) {
        setDownloadError(error instanceof Error ? error.message : String(error));
      } finally {
        setDownloading(new Set());
      }
    },
    [state.handle, accessKey],
  );
  const fileCount = toOutputView(state.output, outputSchema).files.length;

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
      {ready?.simulator && (
        <div className="playground-banner">
          <SimulatorBanner directives={ready.simulator.directives} />
        </div>
      )}
      <section className="panel input-panel" aria-labelledby="input-title">
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
        {inputsNote && (
          <p className="callout callout-notice callout-detail" role="status" data-testid="inputs-note">
            {inputsNote}
          </p>
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
            onSubmit={() => startRun(values, files)}
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
        outputSchema={outputSchema}
        simulated={Boolean(ready?.simulator)}
        accessKeyPrompt={report?.kind === "unauthorized" && <AccessKeyForm refused={report.keyRefused} onSubmit={submitKey} />}
        onDownload={(index) => void downloadFiles([index])}
        onDownloadAll={() => void downloadFiles(Array.from({ length: fileCount }, (_, index) => index))}
        downloading={downloading}
        downloadError={downloadError}
        panelRef={resultRef}
      />
      <RunHistory
        entries={history}
        openHandle={state.handle}
        onOpen={openRun}
        onRunAgain={runAgain}
        onCopyInputs={copyInputs}
        onRemove={removeRun}
        busy={running}
      />
    </div>
  );
}

/** This browser's local storage; null where it is refused (some private modes). */
function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Scrolls the run's panel into view when its top is off screen (a phone, after Run). */
function revealProgress(panel: HTMLElement | null) {
  if (!panel) return;
  const { top } = panel.getBoundingClientRect();
  if (top >= 0 && top < window.innerHeight * 0.5) return;
  // At once: a smooth scroll is cut short by the progress bar and the output arriving under it.
  panel.scrollIntoView({ behavior: "auto", block: "start" });
}
