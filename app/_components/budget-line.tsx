"use client";

import { useSyncExternalStore } from "react";
import { latestBudget, subscribeBudget, windowWords } from "@/lib/browser/budget";

/**
 * "Used 88 of 300 model-seconds today", from the RateLimit headers of the route's latest answer;
 * once the budget is spent, when it renews. Nothing while the route sets no budget.
 */
export function BudgetLine() {
  const budget = useSyncExternalStore(subscribeBudget, latestBudget, () => null);
  if (!budget) return null;
  const used = Math.max(0, budget.limitSeconds - budget.remainingSeconds);
  const spent = budget.remainingSeconds <= 0;
  const renews = new Date(budget.renewsAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return (
    <p className={`budget-line${spent ? " budget-spent" : ""}`} data-testid="budget" data-remaining={budget.remainingSeconds}>
      Used {used} of {budget.limitSeconds} model-seconds {windowWords(budget.windowSeconds)}
      {spent && <> · spent: it renews at {renews}</>}
    </p>
  );
}
