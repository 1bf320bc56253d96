"use client";

import { useEffect, useState } from "react";
import { StrokeIcon } from "./stroke-icon";

type CopyButtonProps = { label: string; getText: () => string; testId?: string };

/** Copies on click and says so; falls back to a hidden textarea where the Clipboard API is off (plain http). */
export function CopyButton({ label, getText, testId }: CopyButtonProps) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);

  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(null), 2000);
    return () => clearTimeout(timer);
  }, [copied]);

  async function copy() {
    const text = getText();
    try {
      await navigator.clipboard.writeText(text);
      setCopied("yes");
    } catch {
      setCopied(copyWithTextarea(text) ? "yes" : "failed");
    }
  }

  return (
    <button type="button" className="button button-ghost button-small" onClick={copy} data-testid={testId}>
      <StrokeIcon size={15}>
        {copied === "yes" ? (
          <path d="m5 12 5 5 9-10" />
        ) : (
          <>
            <rect x="9" y="9" width="11" height="11" rx="2" />
            <path d="M5 15V6a2 2 0 0 1 2-2h8" />
          </>
        )}
      </StrokeIcon>
      <span aria-live="polite">{copied === "yes" ? "Copied" : copied === "failed" ? "Copy failed" : label}</span>
    </button>
  );
}

function copyWithTextarea(text: string): boolean {
  const textarea = document.createElement("textarea");
  textarea.value = text;
  textarea.setAttribute("readonly", "");
  textarea.style.position = "fixed";
  textarea.style.opacity = "0";
  document.body.append(textarea);
  textarea.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    textarea.remove();
  }
}
