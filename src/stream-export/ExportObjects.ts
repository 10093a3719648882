import { Effect, Option, Schema } from "effect"
import { LiveStreamId } from "../opencti/LiveStreamId.js"
import { StreamExportError } from "./StreamExportError.js"

/** The object holding batch `fileNumber`, named as the stream importer expects: `{folder}stream_{epochMs}_{n}.json`. */
export const objectKey = (folder: string, epochMs: number, fileNumber: number): string => `${folder}stream_${epochMs}_${fileNumber}.json`

const objectName = /^stream_\d+_(\d+)\.json$/

/** The number of an object directly in `folder`, if its key is an export object's. */
export const fileNumberOf = (folder: string, key: string): Option.Option<number> =>
  key.startsWith(folder) ? Option.map(Option.fromNullishOr(objectName.exec(key.slice(folder.length))?.[1]), Number) : Option.none()

/** What the folder says about the state's `file_count`, checked once before anything is written. */
export type FolderCheck =
  | { readonly _tag: "Consistent" }
  /** Object `fileCount + 1` exists: it was written, then the process died before its commit. */
  | { readonly _tag: "Uncommitted"; readonly key: string; readonly fileNumber: number }
  | { readonly _tag: "Inconsistent"; readonly message: string }

/**
 * Objects are committed one at a time, so the folder can hold at most one object past the state: the
 * next one, written by a run that died before committing it. Anything else (two objects with one
 * number, or a gap) means the state no longer matches the folder, and writing would reuse numbers.
 */
export const checkFolder = (folder: string, fileCount: number, keys: ReadonlyArray<string>): FolderCheck => {
  const ahead = keys.flatMap((key) => Option.match(fileNumberOf(folder, key), { onNone: () => [], onSome: (fileNumber) => fileNumber > fileCount ? [{ key, fileNumber }] : [] }))
  const [first, ...others] = ahead
  if (first === undefined) return { _tag: "Consistent" }
  if (others.length === 0 && first.fileNumber === fileCount + 1) return { _tag: "Uncommitted", key: first.key, fileNumber: first.fileNumber }
  return {
    _tag: "Inconsistent",
    message: `the folder holds ${ahead.map((object) => object.key).join(", ")} but the connector state says ${fileCount} object(s) were written: ` +
      "writing would reuse object numbers, which the stream importer refuses. Restore the state, or move these objects away"
  }
}

const LineId = Schema.fromJsonString(Schema.Struct({ id: LiveStreamId }))
const decodeLineId = Schema.decodeUnknownEffect(LineId)

const decoder = new TextDecoder()

/** The event ids of an object's lines, in order. */
export const objectIds = Effect.fn("ExportObjects.objectIds")(function*(key: string, body: Uint8Array) {
  const lines = decoder.decode(body).split("\n").filter((line) => line.length > 0)
  return yield* Effect.forEach(lines, (line, index) =>
    decodeLineId(line).pipe(
      Effect.map((decoded) => decoded.id),
      Effect.mapError((error) => new StreamExportError({ phase: "reconcile", key, message: `${key}, line ${index + 1}: ${error.message}`, cause: error }))
    ))
})
