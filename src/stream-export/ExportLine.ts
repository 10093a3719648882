import { Option, Predicate, Result, Schema } from "effect"
import { parseUntrusted } from "../stix/untrustedJson.js"
import type { UntrustedJsonError } from "../stix/untrustedJson.js"
import type { LiveEvent } from "../opencti/LiveStream.js"

/**
 * One event ready to be written: its id, its SSE event name, its object (the STIX id, which tells apart
 * the events of a group sharing one id), and its NDJSON line `head + tail` (newline included). The line is kept in two parts so that the platform's text, when the line keeps it, is
 * written from where it is instead of being copied to join what the exporter appends.
 *
 * A class, not object literals: lines can wait while a batch is written, long enough to outlive a
 * young-generation collection, and V8 then allocates all later objects of such a literal in the old
 * generation, where each line keeps its event's data until a full collection (about 80 MB more peak
 * RSS over 100 000 events). Objects made by a constructor are not moved there.
 */
export class ExportLine {
  constructor(readonly id: string, readonly action: string, readonly object: string, readonly head: string, readonly tail: string) {}
}

export type JsonObject = { readonly [key: string]: unknown }

const octiExtension = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"
const octiScoExtension = "extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82"

/**
 * The event's data when it is a JSON object. `JSON.parse` and the object check are the whole
 * validation: a Schema decode around them cost more than the parse itself and checked nothing more.
 */
const parsePayload = (data: string): Result.Result<JsonObject, string> => {
  try {
    const value: unknown = JSON.parse(data)
    return Predicate.isObject(value) ? Result.succeed(value) : Result.fail("it is JSON, but not an object")
  } catch (cause) {
    return Result.fail(String(cause))
  }
}

const ReversePatch = Schema.Array(Schema.Struct({ path: Schema.String, value: Schema.optional(Schema.Unknown) }))
const decodeReversePatch = Schema.decodeUnknownOption(ReversePatch)

/**
 * The previous standard id of an update that changed `/id` (its `context.reverse_patch` holds the old
 * value), which the importer needs to find the object. Several `/id` operations are ambiguous: none.
 */
export const previousStandard = (payload: JsonObject): { readonly value: Option.Option<string>; readonly ambiguous: boolean } => {
  const context = payload["context"]
  const operations = Predicate.isObject(context) ? Option.getOrElse(decodeReversePatch(context["reverse_patch"]), () => []) : []
  const idOperations = operations.filter((operation) => operation.path === "/id")
  const only = idOperations.length === 1 ? idOperations[0]?.value : undefined
  return { value: Option.liftPredicate(only, Predicate.isString), ambiguous: idOperations.length > 1 }
}

const fileLocations: ReadonlyArray<ReadonlyArray<string>> = [
  ["data", "extensions", octiExtension, "files"],
  ["data", "extensions", octiScoExtension, "files"],
  ["data", "files"]
]

const at = (value: unknown, path: ReadonlyArray<string>): unknown => {
  let current = value
  for (const key of path) current = Predicate.isObject(current) ? current[key] : undefined
  return current
}

const replaceAt = (object: JsonObject, path: ReadonlyArray<string>, value: unknown): JsonObject => {
  const [key, ...rest] = path
  if (key === undefined) return object
  const child = object[key]
  return { ...object, [key]: rest.length === 0 ? value : replaceAt(Predicate.isObject(child) ? child : {}, rest, value) }
}

/** A file of the object that the platform serves: its index in the files list and its download path. */
export interface StoredFile {
  readonly index: number
  readonly path: string
}

const noFiles = { location: [], files: [] }

/**
 * The files of the object as pycti's `get_attribute_in_extension("files")` finds them: the OpenCTI
 * extension first, then the SCO extension, then `files`. Only entries served under `storage/get` are
 * fetched; an entry with inline data has the uri `unknown`.
 */
export const storedFiles = (payload: JsonObject): { readonly location: ReadonlyArray<string>; readonly files: ReadonlyArray<StoredFile> } => {
  for (const location of fileLocations) {
    const entries = at(payload, location)
    if (!Array.isArray(entries)) continue
    const files = entries.flatMap((entry: unknown, index): Array<StoredFile> => {
      const uri = Predicate.isObject(entry) ? entry["uri"] : undefined
      if (!Predicate.isString(uri) || !uri.includes("storage/get")) return []
      return [{ index, path: `/${uri.slice(uri.indexOf("storage/get"))}` }]
    })
    return { location, files }
  }
  return noFiles
}

/** The line with `data` (base64) set in the file entries of `location` that `contents` has, in place of the list's copies. */
export const withFileContents = (line: JsonObject, location: ReadonlyArray<string>, contents: ReadonlyMap<number, string>): JsonObject => {
  const entries = at(line, location)
  if (!Array.isArray(entries) || contents.size === 0) return line
  const filled = entries.map((entry: unknown, index) => {
    const data = contents.get(index)
    return data !== undefined && Predicate.isObject(entry) ? { ...entry, data } : entry
  })
  return replaceAt(line, location, filled)
}

/** An event decoded and completed but for its files, which only the platform can give. */
export type PreparedEvent =
  | { readonly _tag: "Unreadable"; readonly event: LiveEvent; readonly reason: string }
  | Prepared

export interface Prepared {
  readonly _tag: "Prepared"
  readonly event: LiveEvent
  readonly payload: JsonObject
  /** `previous_standard`, for an update that changed `/id`. */
  readonly previousStandard: Option.Option<string>
  /** Several `/id` operations in the reverse patch: previous_standard is left out. */
  readonly ambiguousId: boolean
  readonly location: ReadonlyArray<string>
  readonly files: ReadonlyArray<StoredFile>
}

/** The pure part of the enrichment: the payload, `previous_standard` for an update, and the files to fetch; unreadable when `data` is not a JSON object. */
export const prepare = (event: LiveEvent): PreparedEvent => {
  const payload = parsePayload(event.data)
  if (Result.isFailure(payload)) return { _tag: "Unreadable", event, reason: payload.failure }
  const previous = event.event === "update" ? previousStandard(payload.success) : { value: Option.none<string>(), ambiguous: false }
  return { _tag: "Prepared", event, payload: payload.success, previousStandard: previous.value, ambiguousId: previous.ambiguous, ...storedFiles(payload.success) }
}

/**
 * The line as an object: the platform payload plus `id` (the event id), `type` (the SSE event name, not
 * `data.type`), `previous_standard` when known, and the file contents fetched.
 */
const lineObject = (prepared: Prepared, payload: JsonObject, contents: ReadonlyMap<number, string>): JsonObject => {
  const { event } = prepared
  const base = { ...payload, id: event.id, type: event.event }
  const line = Option.match(prepared.previousStandard, { onNone: () => base, onSome: (id) => ({ ...base, previous_standard: id }) })
  return withFileContents(line, prepared.location, contents)
}

/**
 * Whether the line is the data's own text with members appended. That holds when the line only adds
 * members the payload does not have: its `type` is already the event name, no file content goes in,
 * and the text is on one line (`data` joins several SSE data lines with newlines, which JSON allows
 * between tokens). The members are then those `lineObject` would give, and the platform's text is kept
 * as it was sent instead of being serialised again.
 */
const keepsText = (prepared: Prepared, contents: ReadonlyMap<number, string>): boolean =>
  contents.size === 0 &&
  prepared.payload["type"] === prepared.event.event &&
  !Object.hasOwn(prepared.payload, "id") &&
  (Option.isNone(prepared.previousStandard) || !Object.hasOwn(prepared.payload, "previous_standard")) &&
  !prepared.event.data.includes("\n")

/** The STIX id of the event's object; the event's data for the rare event without one. */
const objectOf = (prepared: Prepared): string => {
  const stix = prepared.payload["data"]
  const id = Predicate.isObject(stix) ? stix["id"] : undefined
  return Predicate.isString(id) ? id : prepared.event.data
}

const keptText = (prepared: Prepared): ExportLine => {
  const { data, event, id } = prepared.event
  // The data parsed as an object: its last `}` closes it, only whitespace follows, and it has a member (`type`) before.
  const close = data.lastIndexOf("}")
  const previous = Option.match(prepared.previousStandard, { onNone: () => "", onSome: (standard) => `,"previous_standard":${JSON.stringify(standard)}` })
  return new ExportLine(id, event, objectOf(prepared), data.slice(0, close), `,"id":${JSON.stringify(id)}${previous}}\n`)
}

const noContents: ReadonlyMap<number, string> = new Map()

/**
 * The line of a prepared event, with the contents of its files fetched (by index in its files list). A
 * line that cannot keep the platform's text is serialised from the data read again as untrusted JSON,
 * so that its numbers keep their exact text; data that cannot be read so (nesting too deep to
 * serialise, a member named twice, which a serialised line would lose) fails instead.
 */
export const toExportLine = (prepared: Prepared, contents: ReadonlyMap<number, string> = noContents): Result.Result<ExportLine, UntrustedJsonError> =>
  keepsText(prepared, contents)
    ? Result.succeed(keptText(prepared))
    : Result.map(parseUntrusted(prepared.event.data), (payload) =>
      new ExportLine(prepared.event.id, prepared.event.event, objectOf(prepared), JSON.stringify(lineObject(prepared, payload as JsonObject, contents)), "\n"))
