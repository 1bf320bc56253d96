"use client";

import { useCallback, useEffect, useReducer, useRef } from "react";
import { describeAnswer, describeCancelAnswer, describeRequestFailure, type RunReport } from "@/lib/browser/run-report";
import {
  startPredictionSession,
  type PredictionSession,
  type SessionEnd,
  type SessionPlan,
} from "@/lib/browser/prediction-session";
import { withHandle } from "@/lib/browser/prediction-url";
import type { FormValues } from "@/lib/browser/form-schema";
import type { RunRequestBody } from "@/lib/browser/route-types";
import { IDLE_RUN, runReducer } from "@/lib/browser/run-state";

/**
 * One run at a time: start it (or re-attach to the one named in the URL), follow its events,
 * cancel it with a DELETE. The running prediction's handle stays in the URL until the run ends, so a
 * reload re-attaches instead of losing it. `getHeaders` is read at each run (the access key).
 */
export function usePredictionRun(getHeaders: () => Record<string, string>) {
  const [state, dispatch] = useReducer(runReducer, IDLE_RUN);
  const sessionRef = useRef<PredictionSession | null>(null);
  const retryPlanRef = useRef<SessionPlan | null>(null);
  const getHeadersRef = useRef(getHeaders);
  useEffect(() => {
    getHeadersRef.current = getHeaders;
  }, [getHeaders]);

  const run = useCallback(async (plan: SessionPlan, known: { values?: FormValues; startedAt?: number } = {}) => {
    sessionRef.current?.stop();
    const headers = getHeadersRef.current();
    const keySent = "Authorization" in headers;
    const now = Date.now();
    dispatch(
      plan.kind === "start"
        ? { type: "start", body: plan.body, values: known.values, now }
        : { type: "attach", now, startedAt: known.startedAt },
    );
    let handle = plan.kind === "attach" ? plan.handle : null;
    const session = startPredictionSession(plan, {
      headers,
      onEvent: (event) => dispatch({ type: "event", event }),
      onHandle: (named) => {
        handle = named;
        dispatch({ type: "handle", handle: named });
        replaceUrl(withHandle(window.location.href, named));
      },
    });
    sessionRef.current = session;

    let report: RunReport;
    let answered = false;
    try {
      report = describeEnd(await session.ended, keySent);
      answered = true;
    } catch (error) {
      report = describeRequestFailure(error);
    }
    if (sessionRef.current !== session) return;
    sessionRef.current = null;
    // After the key is given, follow what was created rather than create it again.
    retryPlanRef.current = handle ? { kind: "attach", handle } : plan;
    // Ended: nothing to re-attach to. Not answered (the network failed) or waiting for a key: keep the handle.
    if (answered && report.kind !== "unauthorized") replaceUrl(withHandle(window.location.href, null));
    dispatch({ type: "finish", report, now: Date.now() });
  }, []);

  /** `values`: the form's, kept in the history to run it again. */
  const start = useCallback((body: RunRequestBody, values?: FormValues) => run({ kind: "start", body }, { values }), [run]);
  /** `startedAt`: the prediction's `created_at`, when known, so the timer counts from there. */
  const attach = useCallback((handle: string, startedAt?: number) => run({ kind: "attach", handle }, { startedAt }), [run]);

  /** Runs the last plan again (after the access key was given). */
  const retry = useCallback(() => {
    if (retryPlanRef.current) void run(retryPlanRef.current);
  }, [run]);

  const cancel = useCallback(() => {
    const session = sessionRef.current;
    if (!session) return;
    dispatch({ type: "canceling" });
    session.cancel();
  }, []);

  // Leaving the page stops following; the prediction runs on (the URL still names it).
  useEffect(() => () => sessionRef.current?.stop(), []);

  return { state, start, attach, retry, cancel };
}

function describeEnd(end: SessionEnd, keySent: boolean): RunReport {
  return end.canceled ? describeCancelAnswer(end.answer, { keySent }) : describeAnswer(end.answer, { keySent });
}

function replaceUrl(href: string) {
  if (href !== window.location.href) window.history.replaceState(window.history.state, "", href);
}
