/**
 * The filter bar of the Conversations page: every ExportConfig filter. The form keeps what is
 * typed until it is applied; applying puts the filters in the URL. The API's 400 details are
 * shown under the fields they name.
 */
import type { PartialInputHTMLAttributes } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { ConversationStatus, ConversationTier } from "../../../shared/domain/export_config.ts";
import { type ConversationFilters, EMPTY_FILTERS } from "../url_state.ts";
import { keysOf, STATUS_LABELS, TIER_LABELS } from "../vocabulary.ts";
import { describedBy, FieldErrors } from "./field_errors.tsx";

interface ConversationFiltersProps {
  applied: ConversationFilters;
  /** The API's messages by filter name (`qualityMin`, …). */
  issues: Map<string, string[]>;
  onApply(filters: ConversationFilters): void;
}

type TextFilter = Exclude<keyof ConversationFilters, "statuses" | "tiers">;

interface TextField {
  name: TextFilter;
  label: string;
  type: "number" | "date" | "text" | "search";
  hint?: string;
}

const TEXT_FIELDS: readonly TextField[] = [
  { name: "qualityMin", label: "Quality min", type: "number", hint: "0–10, inclusive" },
  { name: "qualityMax", label: "Quality max", type: "number", hint: "0–10, inclusive" },
  { name: "createdFrom", label: "Created from", type: "date" },
  { name: "createdTo", label: "Created until", type: "date" },
  { name: "categories", label: "Categories", type: "text", hint: "Comma-separated; any may match" },
  { name: "personas", label: "Personas", type: "text", hint: "Comma-separated, exact values" },
  { name: "emotions", label: "Emotions", type: "text", hint: "Comma-separated, exact values" },
  { name: "search", label: "Title contains", type: "search" },
];

/** The filter bar. */
export function ConversationFiltersForm({ applied, issues, onApply }: ConversationFiltersProps) {
  const [draft, setDraft] = useState(applied);
  const appliedKey = JSON.stringify(applied);
  // Back/forward (or a link) changed the applied filters: the form shows them.
  useEffect(() => setDraft(applied), [appliedKey]);

  function toggle<K extends "statuses" | "tiers">(
    name: K,
    value: ConversationFilters[K][number],
    on: boolean,
  ): void {
    setDraft((current) => {
      const values = current[name] as string[];
      const next = on ? [...values, value] : values.filter((item) => item !== value);
      return { ...current, [name]: next };
    });
  }

  function submit(event: Event): void {
    event.preventDefault();
    onApply(draft);
  }

  return (
    <form
      class="filters conversation-filters"
      role="search"
      aria-label="Filter conversations"
      onSubmit={submit}
      noValidate
    >
      <fieldset
        class="checks"
        aria-describedby={describedBy("filter-statuses", {
          hint: true,
          errors: issues.get("statuses"),
        })}
      >
        <legend>Status</legend>
        {keysOf(STATUS_LABELS).map((status: ConversationStatus) => (
          <label class="choice" key={status}>
            <input
              type="checkbox"
              checked={draft.statuses.includes(status)}
              onChange={(event) =>
                toggle("statuses", status, event.currentTarget.checked)}
            />
            <span>{capitalized(STATUS_LABELS[status])}</span>
          </label>
        ))}
        <p class="hint" id="filter-statuses-hint">None ticked: approved only.</p>
        <FieldErrors fieldId="filter-statuses" errors={issues.get("statuses")} />
      </fieldset>
      <fieldset
        class="checks"
        aria-describedby={describedBy("filter-tiers", { errors: issues.get("tiers") })}
      >
        <legend>Tier</legend>
        {keysOf(TIER_LABELS).map((tier: ConversationTier) => (
          <label class="choice" key={tier}>
            <input
              type="checkbox"
              checked={draft.tiers.includes(tier)}
              onChange={(event) => toggle("tiers", tier, event.currentTarget.checked)}
            />
            <span>{capitalized(TIER_LABELS[tier])}</span>
          </label>
        ))}
        <FieldErrors fieldId="filter-tiers" errors={issues.get("tiers")} />
      </fieldset>
      {TEXT_FIELDS.map(({ name, label, type, hint }) => {
        const id = `filter-${name}`;
        const errors = issues.get(name);
        return (
          <div class="field" key={name}>
            <label for={id}>{label}</label>
            <FilterInput
              type={type}
              id={id}
              value={draft[name]}
              aria-invalid={errors ? true : undefined}
              aria-describedby={describedBy(id, { hint: hint !== undefined, errors })}
              onInput={(event) => {
                const value = event.currentTarget.value;
                setDraft((current) => ({ ...current, [name]: value }));
              }}
            />
            {hint && <p class="hint" id={`${id}-hint`}>{hint}</p>}
            <FieldErrors fieldId={id} errors={errors} />
          </div>
        );
      })}
      <div class="filter-actions">
        <button type="submit" class="primary">Apply filters</button>
        <button type="button" onClick={() => onApply(EMPTY_FILTERS)}>Reset filters</button>
      </div>
    </form>
  );
}

type InputProps = Omit<PartialInputHTMLAttributes<HTMLInputElement>, "type" | "role">;

/** A text-like input of the given type (quality bounds take 0–10 in tenths). */
function FilterInput({ type, ...props }: InputProps & { type: TextField["type"] }) {
  switch (type) {
    case "number":
      return <input type="number" min={0} max={10} step={0.1} inputMode="decimal" {...props} />;
    case "date":
      return <input type="date" {...props} />;
    case "search":
      return <input type="search" {...props} />;
    case "text":
      return <input type="text" {...props} />;
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
