import { Effect, Option, Schema } from "effect"
import { LiveStreamId } from "../opencti/LiveStreamId.js"
import { StreamExportError } from "./StreamExportError.js"

/** The object holding batch `fileNumber`, named as the stream importer expects: `{folder}stream_{epochMs}_{n}.json`. */
export const objectKey = (folder: string, epochMs: number, fileNumber: number): string => `${folder}stream_${epochMs}_${fileNumber}.json`

const objectName = /^stream_\d+_(\d+)\.json$/

/** The number of an object directly in `folder`, if its key is an export object's. */
export const fileNumberOf = (folder: string, key: string): Option.Option<number> =>
  key.startsWith(folder) ? Option.map(Option.fromNullishOr(objectName.exec(key.slice(folder.length))?.[1]), Number) : Option.none()

/** The highest number of the objects directly in `folder`; 0 when there is none. */
export const highestNumber = (folder: string, keys: ReadonlyArray<string>): number =>
  keys.reduce((highest, key) => Math.max(highest, Option.getOrElse(fileNumberOf(folder, key), () => 0)), 0)

/** What the folder says about the state's `file_count`, checked once before anything is written. */
export type FolderCheck =
  | { readonly _tag: "Consistent" }
  /** Object `fileCount + 1` exists and no object is pending: written by a version that saved no intent, which died before its commit. */
  | { readonly _tag: "Uncommitted"; readonly key: string; readonly fileNumber: number }
  | { readonly _tag: "Inconsistent"; readonly message: string }

/**
 * Objects are committed one at a time, so the folder can hold at most one object past the state: the
 * pending one (or, from a state that records none, the next one), written by a run that died before
 * committing it. Anything else (two objects with one number, or a gap) means the state no longer
 * matches the folder, and writing would reuse numbers. Objects moved away from the folder are no
 * concern: the state alone says what was written.
 */
export const checkFolder = (folder: string, fileCount: number, keys: ReadonlyArray<string>, pendingKey: Option.Option<string>): FolderCheck => {
  const ahead = keys.flatMap((key) => Option.match(fileNumberOf(folder, key), { onNone: () => [], onSome: (fileNumber) => fileNumber > fileCount ? [{ key, fileNumber }] : [] }))
  const [first, ...others] = ahead
  if (first === undefined) return { _tag: "Consistent" }
  if (others.length === 0 && Option.isSome(pendingKey)) {
    if (first.key === pendingKey.value) return { _tag: "Consistent" }
  } else if (others.length === 0 && first.fileNumber === fileCount + 1) {
    return { _tag: "Uncommitted", key: first.key, fileNumber: first.fileNumber }
  }
  return {
    _tag: "Inconsistent",
    message: `the folder holds ${ahead.map((object) => object.key).join(", ")} but the connector state says ${fileCount} object(s) were written: ` +
      "writing would reuse object numbers, which the stream importer refuses. Restore the state, or move these objects away"
  }
}

const LineEvent = Schema.fromJsonString(Schema.Struct({ id: LiveStreamId, data: Schema.optional(Schema.Struct({ id: Schema.optional(Schema.String) })) }))
const decodeLineEvent = Schema.decodeUnknownEffect(LineEvent)

const decoder = new TextDecoder()

/** The events of an object's lines, in order: their ids and objects (STIX ids). */
export const objectEvents = Effect.fn("ExportObjects.objectEvents")(function*(key: string, body: Uint8Array) {
  const lines = decoder.decode(body).split("\n").filter((line) => line.length > 0)
  return yield* Effect.forEach(lines, (line, index) =>
    decodeLineEvent(line).pipe(
      Effect.map((decoded) => ({ id: decoded.id, object: decoded.data?.id ?? line })),
      Effect.mapError((error) => new StreamExportError({ phase: "reconcile", key, message: `${key}, line ${index + 1}: ${error.message}`, cause: error }))
    ))
})
