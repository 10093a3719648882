import { Effect, Option, Result, Schema } from "effect"
import { BundleParseError, type StixObject } from "../Bundle.js"
import { isPythonTruthy } from "../python.js"
import { formatStixTimestamp } from "../stixTimestamp.js"
import { LABEL_FLAGS } from "./fieldMapping.js"
import { noteSourceApplies } from "./notes.js"

/**
 * The fields the transformation reads to build ids, notes and credits, checked before anything else:
 * the reference crashes on the first object lacking one and leaves the file in place. Here such a
 * bundle is rejected the way bytes that are not a bundle are, before any platform look-up.
 */

type Check = (object: StixObject) => Result.Result<unknown, Schema.SchemaError>

const NullableString = Schema.NullOr(Schema.String)

const Named: Check = Schema.decodeUnknownResult(Schema.Struct({ name: Schema.String }))

const ID_FIELDS: Readonly<Record<string, Check>> = {
  "vulnerability": Named,
  "infrastructure": Named,
  "malware": Named,
  "identity": Schema.decodeUnknownResult(Schema.Struct({ name: Schema.String, identity_class: Schema.String })),
  "course-of-action": Schema.decodeUnknownResult(
    Schema.Struct({ name: Schema.String, x_mitre_id: Schema.optionalKey(NullableString) })
  ),
  "indicator": Schema.decodeUnknownResult(Schema.Struct({ pattern: Schema.String })),
  "relationship": Schema.decodeUnknownResult(Schema.Struct({
    relationship_type: Schema.String,
    source_ref: Schema.String,
    target_ref: Schema.String,
    start_time: Schema.optionalKey(NullableString),
    stop_time: Schema.optionalKey(NullableString)
  }))
}

const StixTimestamp = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((value: string) =>
      Option.isSome(formatStixTimestamp(value)) || "Expected a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)"
    )
  )
)

const NoteSource: Check = Schema.decodeUnknownResult(Schema.Struct({
  created: StixTimestamp,
  name: Schema.optionalKey(Schema.String),
  x_acti_uuid: Schema.String
}))

/** The note fields, checked only when they make a note (a falsy one is skipped whatever its type). */
const NOTE_FIELDS: ReadonlyArray<readonly [string, Check]> = [
  ["x_title", Schema.decodeUnknownResult(Schema.Struct({ x_title: Schema.String }))],
  ["x_analysis", Schema.decodeUnknownResult(Schema.Struct({ x_analysis: Schema.String }))],
  ["x_history", Schema.decodeUnknownResult(Schema.Struct({
    x_history: Schema.Array(Schema.Struct({
      timestamp: Schema.optionalKey(NullableString),
      comment: Schema.optionalKey(NullableString)
    }))
  }))]
]

const Credit: Check = Schema.decodeUnknownResult(Schema.Struct({ x_credit: Schema.String }))

/** A list the transformation appends to must be a list when present. */
const appendable = (key: string): Check =>
  Schema.decodeUnknownResult(Schema.Struct({ [key]: Schema.optionalKey(Schema.Array(Schema.Unknown)) }))

const Labels = appendable("labels")
const ExternalReferences = appendable("external_references")
const Files = appendable("x_opencti_files")

const checksFor = (object: StixObject, attachOriginalFile: boolean): ReadonlyArray<Check> => {
  const checks: Array<Check> = []
  const idFields = ID_FIELDS[object.type]
  if (idFields !== undefined) checks.push(idFields)
  if (noteSourceApplies(object)) {
    checks.push(NoteSource)
    for (const [field, check] of NOTE_FIELDS) {
      if (isPythonTruthy(object[field])) checks.push(check)
    }
  }
  if (isPythonTruthy(object["x_credit"])) checks.push(Credit)
  if (LABEL_FLAGS.some(([flag]) => isPythonTruthy(object[flag]))) checks.push(Labels)
  if (Object.hasOwn(object, "x_acti_uuid")) checks.push(ExternalReferences)
  if (attachOriginalFile && object.type === "vulnerability") checks.push(Files)
  return checks
}

/** Fails with the first object that lacks a field the transformation needs. */
export const checkRequiredFields = (
  objects: ReadonlyArray<StixObject>,
  attachOriginalFile: boolean
): Effect.Effect<void, BundleParseError> => {
  for (const object of objects) {
    for (const check of checksFor(object, attachOriginalFile)) {
      const result = check(object)
      if (Result.isFailure(result)) {
        return Effect.fail(
          new BundleParseError({
            message: `object ${object.id} (${object.type}) cannot be imported: ${
              result.failure.message.replace(/\s*\n\s*/g, " ")
            }`
          })
        )
      }
    }
  }
  return Effect.void
}
