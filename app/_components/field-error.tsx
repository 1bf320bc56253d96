/** The route's words about one field, tied to its input through `aria-describedby`. */
export function FieldError({ id, messages, name }: { id: string; messages?: string[]; name: string }) {
  if (!messages?.length) return null;
  return (
    <p className="field-error" id={id} data-testid={`field-error-${name}`}>
      {messages.join(" ")}
    </p>
  );
}
