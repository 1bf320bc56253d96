"use client";

import { useEffect, useState } from "react";

/** Milliseconds since `startedAt`, ticking while the run is open, frozen at `finishedAt`. */
export function useElapsed(startedAt: number | null, finishedAt: number | null, tickMs = 100): number {
  // No clock read while rendering: a prerender (Cache Components) refuses one; the effect reads it.
  const [now, setNow] = useState(0);
  useEffect(() => {
    if (startedAt === null || finishedAt !== null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), tickMs);
    return () => clearInterval(timer);
  }, [startedAt, finishedAt, tickMs]);
  if (startedAt === null) return 0;
  return Math.max(0, (finishedAt ?? now) - startedAt);
}
