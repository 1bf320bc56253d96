"use client";

import { useId, useRef, useState, type DragEvent } from "react";
import { formatBytes } from "@/lib/browser/format";

export type PickedImage = { dataUrl: string; name: string; size: number };

type ImagePickerProps = {
  image: PickedImage | null;
  onChange: (image: PickedImage | null) => void;
  errors?: string[];
  disabled?: boolean;
};

/** Picks (or takes a dropped) image and hands it on as a data URL, the form the route accepts. */
export function ImagePicker({ image, onChange, errors, disabled }: ImagePickerProps) {
  const inputRef = useRef<HTMLInputElement>(null);
  const [readError, setReadError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const hintId = useId();
  const errorId = useId();
  const messages = [...(readError ? [readError] : []), ...(errors ?? [])];

  async function pick(file: File | undefined) {
    if (!file) return;
    if (!file.type.startsWith("image/")) {
      setReadError(`${file.name} is not an image.`);
      return;
    }
    try {
      const dataUrl = await readAsDataUrl(file);
      setReadError(null);
      onChange({ dataUrl, name: file.name, size: file.size });
    } catch {
      setReadError(`Could not read ${file.name}.`);
    }
  }

  function remove() {
    onChange(null);
    if (inputRef.current) inputRef.current.value = "";
    inputRef.current?.focus();
  }

  function drop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    if (!disabled) void pick(event.dataTransfer.files[0]);
  }

  return (
    <div className="field">
      <span className="label" id={`${hintId}-label`}>
        Image <span className="optional">optional</span>
      </span>
      <div
        className={`picker${dragging ? " picker-dragging" : ""}${image ? " picker-filled" : ""}`}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={drop}
      >
        {image ? (
          <>
            {/* A plain img: next/image cannot optimise a data URL anyway. */}
            <img className="picker-preview" src={image.dataUrl} alt="Selected input image" data-testid="image-preview" />
            <div className="picker-meta">
              <span className="picker-name" title={image.name}>
                {image.name}
              </span>
              <span className="muted">{formatBytes(image.size)}</span>
            </div>
            <button type="button" className="button button-ghost" onClick={remove} disabled={disabled} data-testid="image-remove">
              Remove
            </button>
          </>
        ) : (
          <label className="picker-drop" htmlFor="field-image">
            <span className="picker-icon" aria-hidden="true">
              <svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
                <rect x="3" y="4" width="18" height="16" rx="2.5" />
                <circle cx="9" cy="10" r="1.8" />
                <path d="m21 16-5-5-9 9" />
              </svg>
            </span>
            <span>
              <span className="picker-cta">Choose an image</span> or drop one here
            </span>
          </label>
        )}
        <input
          ref={inputRef}
          id="field-image"
          className="visually-hidden"
          tabIndex={image ? -1 : undefined}
          type="file"
          accept="image/*"
          disabled={disabled}
          aria-labelledby={`${hintId}-label`}
          aria-describedby={messages.length ? errorId : undefined}
          aria-invalid={messages.length ? true : undefined}
          onChange={(event) => void pick(event.target.files?.[0])}
          data-testid="image-input"
        />
      </div>
      {messages.length > 0 && (
        <p className="field-error" id={errorId} data-testid="field-error-image">
          {messages.join(" ")}
        </p>
      )}
    </div>
  );
}

function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
