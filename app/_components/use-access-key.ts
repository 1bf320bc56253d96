"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { authorizationHeaders, forgetAccessKey, readAccessKey, saveAccessKey, type KeyStorage } from "@/lib/browser/access-key";

/** The route's access key, kept in this tab's session storage once the person typed it. */
export function useAccessKey() {
  // Read after mount: the server renders the page without any key, and the markup must match.
  const [hasKey, setHasKey] = useState(false);
  // Where the browser refuses storage, the key lasts as long as the page.
  const memoryKeyRef = useRef<string | null>(null);

  useEffect(() => setHasKey(readAccessKey(tabStorage()) !== null), []);

  const getHeaders = useCallback(() => authorizationHeaders(readAccessKey(tabStorage()) ?? memoryKeyRef.current), []);

  const save = useCallback((key: string) => {
    memoryKeyRef.current = saveAccessKey(tabStorage(), key) ? null : key.trim();
    setHasKey(true);
  }, []);

  const forget = useCallback(() => {
    forgetAccessKey(tabStorage());
    memoryKeyRef.current = null;
    setHasKey(false);
  }, []);

  return { hasKey, getHeaders, save, forget };
}

function tabStorage(): KeyStorage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
