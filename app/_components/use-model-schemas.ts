"use client";

import { useCallback, useEffect, useState } from "react";
import { fetchModelSchemas, type SchemasAnswer } from "@/lib/browser/form-schema";

export type SchemasState = { kind: "loading" } | SchemasAnswer;

/** The route's input and output schemas, fetched once on load; `reload` after the access key changed. */
export function useModelSchemas(getHeaders: () => Record<string, string>) {
  const [state, setState] = useState<SchemasState>({ kind: "loading" });
  const [attempt, setAttempt] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `attempt` is how `reload` asks for a new fetch.
  useEffect(() => {
    let current = true;
    fetchModelSchemas(getHeaders()).then(
      (answer) => current && setState(answer),
      () => current && setState({ kind: "failed", message: "Could not reach the schema route." }),
    );
    return () => {
      current = false;
    };
  }, [getHeaders, attempt]);

  const reload = useCallback(() => {
    setState({ kind: "loading" });
    setAttempt((count) => count + 1);
  }, []);

  return { state, reload };
}
