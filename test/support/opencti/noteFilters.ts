import type { NoteRecord } from "./Knowledge.js"
import { platformError } from "./errors.js"

/** A `FilterGroup` after GraphQL coercion (so `key` is always a list). */
export interface FilterGroup {
  readonly mode: "and" | "or"
  readonly filters: ReadonlyArray<Filter>
  readonly filterGroups: ReadonlyArray<FilterGroup>
}

export interface Filter {
  readonly key: ReadonlyArray<string>
  readonly values: ReadonlyArray<unknown>
  readonly operator?: string | null
  readonly mode?: "and" | "or" | null
}

// The note attributes the stand-in can filter on; any other key is answered as the platform
// answers a key it does not know.
const NOTE_VALUES: Readonly<Record<string, (note: NoteRecord) => ReadonlyArray<string>>> = {
  attribute_abstract: (note) => [note.abstract],
  content: (note) => [note.content],
  id: (note) => [note.id, note.standard_id],
  entity_type: () => ["Note"],
  note_types: (note) => note.note_types,
  objects: (note) => note.objectRefs
}

const valuesOf = (note: NoteRecord, keys: ReadonlyArray<string>): ReadonlyArray<string> =>
  keys.flatMap((key) => NOTE_VALUES[key]?.(note) ?? [])

const matchesFilter = (note: NoteRecord, filter: Filter): boolean => {
  const actual = valuesOf(note, filter.key)
  const wanted = filter.values.map(String)
  const all = filter.mode === "and"
  const anyOrAll = (test: (value: string) => boolean): boolean => (all ? wanted.every(test) : wanted.some(test))
  switch (filter.operator ?? "eq") {
    case "eq":
      return anyOrAll((value) => actual.includes(value))
    case "not_eq":
      return !anyOrAll((value) => actual.includes(value))
    case "nil":
      return actual.length === 0
    case "not_nil":
      return actual.length > 0
    default:
      throw platformError("UNSUPPORTED_ERROR", `Filter operator ${filter.operator} is not supported by the stand-in`)
  }
}

const checkKeys = (group: FilterGroup): void => {
  const unknown = group.filters.flatMap((filter) => filter.key.filter((key) => NOTE_VALUES[key] === undefined))
  if (unknown.length > 0) {
    throw platformError("UNSUPPORTED_ERROR", "Incorrect filter keys not existing in any schema definition", {
      keys: unknown
    })
  }
  group.filterGroups.forEach(checkKeys)
}

const matchesGroup = (note: NoteRecord, group: FilterGroup): boolean => {
  const results = [
    ...group.filters.map((filter) => matchesFilter(note, filter)),
    ...group.filterGroups.map((child) => matchesGroup(note, child))
  ]
  if (results.length === 0) return true
  return group.mode === "and" ? results.every(Boolean) : results.some(Boolean)
}

/** The notes matching `filters` (all notes when there are none). */
export const filterNotes = (
  notes: ReadonlyArray<NoteRecord>,
  filters: FilterGroup | null | undefined
): ReadonlyArray<NoteRecord> => {
  if (filters === null || filters === undefined) return notes
  checkKeys(filters)
  return notes.filter((note) => matchesGroup(note, filters))
}
