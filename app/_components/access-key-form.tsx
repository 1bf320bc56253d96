"use client";

import { useEffect, useId, useRef, useState, type FormEvent } from "react";

type AccessKeyFormProps = { refused: boolean; onSubmit: (key: string) => void };

/** Asks for the route's access key when the route answers 401; the run is retried with it. */
export function AccessKeyForm({ refused, onSubmit }: AccessKeyFormProps) {
  const [key, setKey] = useState("");
  const inputRef = useRef<HTMLInputElement>(null);
  const titleId = useId();
  const hintId = useId();

  // biome-ignore lint/correctness/useExhaustiveDependencies: focus the input again each time the route refuses a key.
  useEffect(() => inputRef.current?.focus(), [refused]);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (key.trim()) onSubmit(key.trim());
  }

  return (
    <form className="callout callout-notice key-form" onSubmit={submit} aria-labelledby={titleId} data-testid="access-key-form">
      <p className="callout-title" id={titleId} role="alert" data-testid="access-key-message">
        {refused ? "The access key was refused" : "This app's route needs an access key"}
      </p>
      <p className="callout-detail" id={hintId}>
        {refused
          ? "Check the key and try again."
          : "The server sets ROUTE_API_KEY, so every call to its route must carry that key. Ask the app's owner for it."}{" "}
        It is kept in this tab only and sent as <code>Authorization: Bearer</code>.
      </p>
      <div className="input-group">
        <input
          ref={inputRef}
          type="password"
          name="access-key"
          autoComplete="off"
          spellCheck={false}
          aria-label="Access key"
          aria-describedby={hintId}
          aria-invalid={refused || undefined}
          value={key}
          onChange={(event) => setKey(event.target.value)}
          data-testid="access-key-input"
        />
        <button type="submit" className="button button-primary" aria-disabled={!key.trim()} data-testid="access-key-submit">
          Use key
        </button>
      </div>
    </form>
  );
}
