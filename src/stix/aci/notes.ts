import { Effect, Option, Predicate } from "effect"
import { stringField } from "../Bundle.js"
import type { StixObject } from "../Bundle.js"
import { comparePythonStrings, isPythonTruthy, pythonStrip } from "../python.js"
import { noteId } from "../StixId.js"
import { formatStixTimestamp } from "../stixTimestamp.js"
import { type AciPlatform, createdBy, describeError, type GeneratedObjectContext } from "./AciPlatform.js"

/** The ACI fields that become notes, in the order the notes are emitted. */
const NOTE_FIELDS = [["Title", "x_title"], ["Analysis", "x_analysis"], ["History", "x_history"]] as const

type NoteKind = (typeof NOTE_FIELDS)[number][0]

interface PlannedNote {
  readonly kind: NoteKind
  readonly abstract: string
  readonly content: string
}

const nameOf = (object: StixObject): string => stringField(object, "name")

/** The note fields an object fills, when it has the ACTI UUID that keys its notes. */
const noteFields = (object: StixObject): ReadonlyArray<(typeof NOTE_FIELDS)[number]> =>
  isPythonTruthy(object["x_acti_uuid"]) ? NOTE_FIELDS.filter(([, field]) => isPythonTruthy(object[field])) : []

/** Notes are made only for objects that carry an ACTI UUID, which keys them. */
export const noteSourceApplies = (object: StixObject): boolean => noteFields(object).length > 0

const historyEntries = (history: unknown): ReadonlyArray<Readonly<Record<string, unknown>>> =>
  Array.isArray(history) ? history.filter(Predicate.isObject) : []

const text = (value: unknown): string => Predicate.isString(value) ? pythonStrip(value) : ""

/**
 * A Markdown table, newest first by a plain string sort of the raw timestamps (stable); a missing or
 * null timestamp sorts as the empty string. Cells are stripped but not escaped.
 */
const historyTable = (history: unknown): string => {
  const sortKey = (entry: Readonly<Record<string, unknown>>): string =>
    Predicate.isString(entry["timestamp"]) ? entry["timestamp"] : ""
  const rows = [...historyEntries(history)]
    .sort((left, right) => comparePythonStrings(sortKey(right), sortKey(left)))
    .map((entry) => `| ${text(entry["timestamp"])} | ${text(entry["comment"])} |\n`)
  return `| Timestamp | Comment |\n|---------|---------|\n${rows.join("")}`
}

const abstractOf = (object: StixObject, kind: string): string => `${nameOf(object)} - ${kind}`

const plannedNotes = (object: StixObject): ReadonlyArray<PlannedNote> =>
  noteFields(object).map(([kind, field]) => ({
    kind,
    abstract: abstractOf(object, kind),
    content: kind === "History" ? historyTable(object[field]) : stringField(object, field)
  }))

/** CVE notes are keyed by the ACTI UUID alone; other names depend on what the platform already has. */
const isCve = (object: StixObject): boolean => nameOf(object).startsWith("CVE-")

/** The abstracts whose existence on the platform decides a note id, without duplicates. */
const abstractsToLookUp = (objects: ReadonlyArray<StixObject>): ReadonlyArray<string> => [
  ...new Set(
    objects.filter((object) => !isCve(object)).flatMap((object) => noteFields(object).map(([kind]) => abstractOf(object, kind)))
  )
]

/**
 * Which abstracts already have a note, in one round trip. A failed look-up counts as "exists" for all
 * of them, which picks the key that consolidates with notes made before.
 */
export const lookUpExistingNotes = (
  objects: ReadonlyArray<StixObject>,
  platform: AciPlatform<unknown>
): Effect.Effect<(abstract: string) => boolean> => {
  const abstracts = abstractsToLookUp(objects)
  if (abstracts.length === 0) return Effect.succeed(() => false)
  return platform.existingNoteAbstracts(abstracts).pipe(
    Effect.map((existing) => (abstract: string) => existing.has(abstract)),
    Effect.catch((error) =>
      Effect.logWarning(
        `Failed to check for existing notes with abstracts ${abstracts.map((a) => `'${a}'`).join(", ")}: ${
          describeError(error)
        }`
      ).pipe(Effect.as(() => true))
    )
  )
}

/**
 * The Title / Analysis / History notes of an object, attached to its (not yet rewritten) id. The id
 * hashes the raw `created`, the note shows it the way stix2 writes it.
 */
export const notesOf = (
  object: StixObject,
  noteExists: (abstract: string) => boolean,
  context: GeneratedObjectContext
): ReadonlyArray<StixObject> => {
  const created = object["created"]
  const uuid = object["x_acti_uuid"]
  if (!Predicate.isString(created) || !Predicate.isString(uuid)) return []
  return plannedNotes(object).map((note) => {
    const key = isCve(object) || noteExists(note.abstract)
      ? `${uuid} - ${note.kind}`
      : `${uuid} - ${nameOf(object)} - ${note.kind}`
    return {
      type: "note",
      spec_version: "2.1",
      id: noteId(key, created),
      ...createdBy(context.authorId),
      created: Option.getOrElse(formatStixTimestamp(created), () => created),
      modified: context.now,
      abstract: note.abstract,
      content: note.content,
      object_refs: [object.id],
      object_marking_refs: [context.marking]
    }
  })
}
