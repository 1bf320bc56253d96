"use client";

import { useId, useRef, useState, type DragEvent } from "react";
import { formatBytes } from "@/lib/browser/format";
import { StrokeIcon } from "./stroke-icon";

/** The picked file itself (sent as a file part) and its data URL (the preview, the curl command). */
export type PickedFile = { file: File; dataUrl: string; name: string; size: number };

type FilePickerProps = {
  /** The field's name in the route's body: ids and test ids follow it (`field-image`, `image-input`). */
  name: string;
  label: string;
  /** An `accept` pattern such as "image/*", "audio/*" or "*\/*". */
  accept: string;
  required: boolean;
  description?: string;
  file: PickedFile | null;
  onChange: (file: PickedFile | null) => void;
  errors?: string[];
  disabled?: boolean;
};

/**
 * Picks (or takes a dropped) file and hands it on as it is (the run sends it as a file part) and
 * as a data URL (the preview and the curl command); an image is previewed, audio and video get
 * their players.
 */
export function FilePicker({
  name,
  label,
  accept,
  required,
  description,
  file: picked,
  onChange,
  errors,
  disabled,
}: FilePickerProps) {
  const inputRef = useRef<HTMLInputElement>(null);
  const [readError, setReadError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const hintId = useId();
  const errorId = useId();
  const helpId = useId();
  const media = mediaOf(accept);
  const messages = [...(readError ? [readError] : []), ...(errors ?? [])];

  async function pick(file: File | undefined) {
    if (!file) return;
    if (!accepts(accept, file.type)) {
      setReadError(`${file.name} is not ${MEDIA_NOUN[media]}.`);
      return;
    }
    try {
      const dataUrl = await readAsDataUrl(file);
      setReadError(null);
      onChange({ file, dataUrl, name: file.name, size: file.size });
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
        {label} {!required && <span className="optional">optional</span>}
      </span>
      {description && (
        <p className="hint" id={helpId}>
          {description}
        </p>
      )}
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop zone for the mouse; the keyboard picks through the file input inside it. */}
      <div
        className={`picker picker-${media}${dragging ? " picker-dragging" : ""}${picked ? " picker-filled" : ""}`}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={drop}
      >
        {picked ? (
          <>
            <FilePreview media={media} file={picked} testId={`${name}-preview`} />
            <div className="picker-meta">
              <span className="picker-name" title={picked.name}>
                {picked.name}
              </span>
              <span className="muted">{formatBytes(picked.size)}</span>
            </div>
            <button
              type="button"
              className="button button-ghost"
              onClick={remove}
              disabled={disabled}
              data-testid={`${name}-remove`}
            >
              Remove
            </button>
          </>
        ) : (
          <label className="picker-drop" htmlFor={`field-${name}`}>
            <span className="picker-icon">
              <StrokeIcon size={22} strokeWidth={1.8}>
                {media === "audio" ? (
                  <>
                    <path d="M9 18V5l11-2v13" />
                    <circle cx="6" cy="18" r="3" />
                    <circle cx="17" cy="16" r="3" />
                  </>
                ) : (
                  <>
                    <rect x="3" y="4" width="18" height="16" rx="2.5" />
                    <circle cx="9" cy="10" r="1.8" />
                    <path d="m21 16-5-5-9 9" />
                  </>
                )}
              </StrokeIcon>
            </span>
            <span>
              <span className="picker-cta">Choose {MEDIA_NOUN[media]}</span> or drop one here
            </span>
          </label>
        )}
        <input
          ref={inputRef}
          id={`field-${name}`}
          className="visually-hidden"
          tabIndex={picked ? -1 : undefined}
          type="file"
          accept={accept}
          disabled={disabled}
          aria-labelledby={`${hintId}-label`}
          aria-describedby={[description ? helpId : "", messages.length ? errorId : ""].filter(Boolean).join(" ") || undefined}
          aria-invalid={messages.length ? true : undefined}
          onChange={(event) => void pick(event.target.files?.[0])}
          data-testid={`${name}-input`}
        />
      </div>
      {messages.length > 0 && (
        <p className="field-error" id={errorId} data-testid={`field-error-${name}`}>
          {messages.join(" ")}
        </p>
      )}
    </div>
  );
}

type Media = "image" | "audio" | "video" | "file";

const MEDIA_NOUN: Record<Media, string> = { image: "an image", audio: "an audio file", video: "a video", file: "a file" };

function mediaOf(accept: string): Media {
  const match = /^(image|audio|video)\//.exec(accept.trim());
  return match ? (match[1] as Media) : "file";
}

/** Whether a file of `type` fits an `accept` list such as "image/*, .png" (extensions are let through). */
function accepts(accept: string, type: string): boolean {
  return accept.split(",").some((pattern) => {
    const wanted = pattern.trim().toLowerCase();
    if (wanted === "" || wanted === "*/*" || wanted.startsWith(".")) return true;
    return wanted.endsWith("/*") ? type.toLowerCase().startsWith(wanted.slice(0, -1)) : type.toLowerCase() === wanted;
  });
}

function FilePreview({ media, file, testId }: { media: Media; file: PickedFile; testId: string }) {
  // A plain img: next/image cannot optimise a data URL anyway.
  if (media === "image") return <img className="picker-preview" src={file.dataUrl} alt="Selected input" data-testid={testId} />;
  if (media === "audio") return <audio className="picker-media" controls src={file.dataUrl} data-testid={testId} />;
  if (media === "video") return <video className="picker-preview" controls src={file.dataUrl} data-testid={testId} />;
  return null;
}

function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
