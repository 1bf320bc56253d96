"use client";

import { useEffect, useState } from "react";

/** Milliseconds since `startedAt`, ticking while the run is open, frozen at `finishedAt`. */
export function useElapsed(startedAt: number | null, finishedAt: number | null, tickMs = 100): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (startedAt === null || finishedAt !== null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), tickMs);
    return () => clearInterval(timer);
  }, [startedAt, finishedAt, tickMs]);
  if (startedAt === null) return 0;
  return (finishedAt ?? now) - startedAt;
}
