"use client";

import { useEffect, useRef } from "react";

/** The live log, collapsed by default; keeps the newest line in view unless the reader scrolled up. */
export function RunLogs({ logs }: { logs: string }) {
  const preRef = useRef<HTMLPreElement>(null);
  const followRef = useRef(true);

  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll to the newest line each time the logs grow.
  useEffect(() => {
    const pre = preRef.current;
    if (pre && followRef.current) pre.scrollTop = pre.scrollHeight;
  }, [logs]);

  const lines = logs.split("\n").filter((line) => line.trim() !== "").length;
  return (
    <details className="logs" data-testid="logs">
      <summary>
        Logs{" "}
        <span className="muted">
          ({lines} {lines === 1 ? "line" : "lines"})
        </span>
      </summary>
      {/* biome-ignore lint/a11y/useSemanticElements: a <section> would not keep the log's line breaks and spacing as <pre> does. */}
      <pre
        ref={preRef}
        role="region"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take focus so the keyboard can scroll it.
        tabIndex={0}
        aria-label="Prediction logs"
        onScroll={(event) => {
          const pre = event.currentTarget;
          followRef.current = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
        }}
        data-testid="logs-text"
      >
        {logs}
      </pre>
    </details>
  );
}
