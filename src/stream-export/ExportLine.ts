import { Option, Predicate, Schema } from "effect"
import type { LiveEvent } from "../opencti/LiveStream.js"

/** One event ready to be written: its id, its SSE event name, and its NDJSON line (newline included). */
export interface ExportLine {
  readonly id: string
  readonly action: string
  readonly text: string
  /** The UTF-8 size of `text`. */
  readonly bytes: number
}

export type JsonObject = { readonly [key: string]: unknown }

const octiExtension = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"
const octiScoExtension = "extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82"

/** A JSON object, checked as a whole: its members are passed through untouched, so nothing is rebuilt. */
const JsonObject = Schema.declare((input: unknown): input is JsonObject => Predicate.isObject(input), { expected: "a JSON object" })
const decodePayload = Schema.decodeUnknownOption(Schema.fromJsonString(JsonObject))

const ReversePatch = Schema.Array(Schema.Struct({ path: Schema.String, value: Schema.optional(Schema.Unknown) }))
const decodeReversePatch = Schema.decodeUnknownOption(ReversePatch)

/**
 * The line of an event before its files are fetched: the platform payload plus `id` (the event id) and
 * `type` (the SSE event name, not `data.type`). None when `data` is not a JSON object.
 */
export const baseLine = (event: LiveEvent): Option.Option<JsonObject> =>
  Option.map(decodePayload(event.data), (payload) => ({ ...payload, id: event.id, type: event.event }))

/**
 * The previous standard id of an update that changed `/id` (its `context.reverse_patch` holds the old
 * value), which the importer needs to find the object. Several `/id` operations are ambiguous: none.
 */
export const previousStandard = (line: JsonObject): { readonly value: Option.Option<string>; readonly ambiguous: boolean } => {
  const context = line["context"]
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

const at = (value: unknown, path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((current, key) => (Predicate.isObject(current) ? current[key] : undefined), value)

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

/**
 * The files of the object as pycti's `get_attribute_in_extension("files")` finds them: the OpenCTI
 * extension first, then the SCO extension, then `files`. Only entries served under `storage/get` are
 * fetched; an entry with inline data has the uri `unknown`.
 */
export const storedFiles = (line: JsonObject): { readonly location: ReadonlyArray<string>; readonly files: ReadonlyArray<StoredFile> } => {
  const location = fileLocations.find((path) => Array.isArray(at(line, path))) ?? []
  const entries = at(line, location)
  const files = (Array.isArray(entries) ? entries : []).flatMap((entry: unknown, index): Array<StoredFile> => {
    const uri = Predicate.isObject(entry) ? entry["uri"] : undefined
    if (!Predicate.isString(uri) || !uri.includes("storage/get")) return []
    return [{ index, path: `/${uri.slice(uri.indexOf("storage/get"))}` }]
  })
  return { location, files }
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
  | { readonly _tag: "Unreadable"; readonly event: LiveEvent }
  | {
    readonly _tag: "Prepared"
    readonly event: LiveEvent
    readonly line: JsonObject
    /** Several `/id` operations in the reverse patch: previous_standard is left out. */
    readonly ambiguousId: boolean
    readonly location: ReadonlyArray<string>
    readonly files: ReadonlyArray<StoredFile>
  }

/** The pure part of the enrichment: the line, `previous_standard` for an update, and the files to fetch. */
export const prepare = (event: LiveEvent): PreparedEvent => {
  const base = baseLine(event)
  if (Option.isNone(base)) return { _tag: "Unreadable", event }
  const previous = event.event === "update" ? previousStandard(base.value) : { value: Option.none<string>(), ambiguous: false }
  const line = Option.match(previous.value, { onNone: () => base.value, onSome: (id) => ({ ...base.value, previous_standard: id }) })
  return { _tag: "Prepared", event, line, ambiguousId: previous.ambiguous, ...storedFiles(line) }
}

export const toExportLine = (event: LiveEvent, line: JsonObject): ExportLine => {
  const text = `${JSON.stringify(line)}\n`
  return { id: event.id, action: event.event, text, bytes: Buffer.byteLength(text) }
}
