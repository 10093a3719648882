import { Option, Predicate } from "effect"
import type { ConnectorState } from "../state/StateStore.js"
import type { ObjectInfo } from "../storage/ObjectStorage.js"

/**
 * With delete-after-import off, what a prefix has already imported: every object modified before
 * `lastModified`, and the listed `keys` modified exactly then (S3 times have one-second precision, so a
 * later upload can share the instant of the mark).
 */
export interface HighWaterMark {
  readonly lastModified: number
  readonly keys: ReadonlyArray<string>
}

const stateKey = "s3_import_marks"

const markId = (bucket: string, prefix: string): string => `${bucket}/${prefix}`

const isMark = (value: unknown): value is HighWaterMark =>
  Predicate.isObject(value) &&
  Predicate.hasProperty(value, "lastModified") && Predicate.isNumber(value.lastModified) &&
  Predicate.hasProperty(value, "keys") && Array.isArray(value.keys) && value.keys.every(Predicate.isString)

export const readMark = (state: Option.Option<ConnectorState>, bucket: string, prefix: string): Option.Option<HighWaterMark> =>
  state.pipe(
    Option.flatMap((current) => Option.fromUndefinedOr(current[stateKey])),
    Option.filter(Predicate.isObject),
    Option.flatMap((marks) => Option.fromUndefinedOr(marks[markId(bucket, prefix)])),
    Option.filter(isMark)
  )

export const writeMark = (state: Option.Option<ConnectorState>, bucket: string, prefix: string, mark: HighWaterMark): ConnectorState => {
  const current = Option.getOrElse(state, (): ConnectorState => ({}))
  const marks = Predicate.isObject(current[stateKey]) ? current[stateKey] : {}
  return { ...current, [stateKey]: { ...marks, [markId(bucket, prefix)]: mark } }
}

export const isImported = (mark: Option.Option<HighWaterMark>, object: ObjectInfo): boolean =>
  Option.isSome(mark) &&
  (object.lastModified < mark.value.lastModified ||
    (object.lastModified === mark.value.lastModified && mark.value.keys.includes(object.key)))

/** The mark after importing `object`; objects must come in (lastModified, key) order. */
export const advance = (mark: Option.Option<HighWaterMark>, object: ObjectInfo): HighWaterMark =>
  Option.isSome(mark) && mark.value.lastModified === object.lastModified
    ? { lastModified: object.lastModified, keys: [...mark.value.keys, object.key] }
    : { lastModified: object.lastModified, keys: [object.key] }

/** The order in which keep mode imports, so that the mark only ever moves forward. */
export const byModification = (a: ObjectInfo, b: ObjectInfo): number =>
  a.lastModified - b.lastModified || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
