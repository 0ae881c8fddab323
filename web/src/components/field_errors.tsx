/** The API's 400 details about one field, shown under it and tied to it by aria-describedby. */

/** The id of a field's error text, for its aria-describedby. */
function errorIdOf(fieldId: string): string {
  return `${fieldId}-error`;
}

/** The ids that describe a field: its hint and its errors, when it has them. */
export function describedBy(fieldId: string, options: { hint?: boolean; errors?: string[] }) {
  const ids = [
    options.hint ? `${fieldId}-hint` : "",
    options.errors?.length ? errorIdOf(fieldId) : "",
  ].filter((id) => id !== "");
  return ids.length > 0 ? ids.join(" ") : undefined;
}

/** The messages about a field, or nothing. */
export function FieldErrors({ fieldId, errors }: { fieldId: string; errors?: string[] }) {
  if (!errors?.length) return null;
  return (
    <p class="field-error" id={errorIdOf(fieldId)}>
      <span aria-hidden="true">{"⚠ "}</span>
      {errors.join(" ")}
    </p>
  );
}
