"use client";

import { useCallback, useEffect, useReducer, useRef } from "react";
import { CANCELED_BY_USER, describeAnswer, describeRequestFailure, type RunOutcome } from "@/lib/client/describe-outcome";
import type { RunRequestBody } from "@/lib/client/route-types";
import { runPrediction } from "@/lib/client/run-prediction";
import { IDLE_RUN, runReducer } from "@/lib/client/run-state";

/** One run at a time: start it, follow its events, cancel it by closing the request. */
export function usePredictionRun() {
  const [state, dispatch] = useReducer(runReducer, IDLE_RUN);
  const controllerRef = useRef<AbortController | null>(null);

  const start = useCallback(async (body: RunRequestBody) => {
    controllerRef.current?.abort();
    const controller = new AbortController();
    controllerRef.current = controller;
    const isCurrent = () => controllerRef.current === controller;
    dispatch({ type: "start", body, now: Date.now() });
    let outcome: RunOutcome;
    try {
      const answer = await runPrediction({
        body,
        signal: controller.signal,
        onEvent: (event) => isCurrent() && dispatch({ type: "event", event }),
      });
      outcome = describeAnswer(answer);
    } catch (error) {
      // Browsers differ in what an aborted body read throws; the signal is the truth.
      outcome = controller.signal.aborted ? CANCELED_BY_USER : describeRequestFailure(error);
    }
    if (isCurrent()) {
      controllerRef.current = null;
      dispatch({ type: "finish", outcome, now: Date.now() });
    }
  }, []);

  const cancel = useCallback(() => {
    const controller = controllerRef.current;
    if (!controller) return;
    controllerRef.current = null;
    controller.abort();
    dispatch({ type: "finish", outcome: CANCELED_BY_USER, now: Date.now() });
  }, []);

  // Leaving the page closes the request, which cancels the prediction upstream.
  useEffect(() => () => controllerRef.current?.abort(), []);

  return { state, start, cancel };
}
