import { Effect, Option, Predicate, Schema } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { decodeText } from "../../../src/stix/Bundle.js"
import type { AciPlatform } from "../../../src/stix/aci/AciPlatform.js"

/** Loading of the golden cases (`test/fixtures/golden/<case>/`) and an in-memory platform answering from them. */

const root = new URL("../../fixtures/golden/", import.meta.url)

const read = (name: string, file: string): string | undefined => {
  try {
    return readFileSync(new URL(`${name}/${file}`, root), "utf8")
  } catch {
    return undefined
  }
}

const VulnerabilityRead = Schema.Struct({ standard_id: Schema.String, returns: Schema.Unknown })

const CaseSpec = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  config: Schema.Struct({
    marking: Schema.String,
    author: Schema.NullOr(Schema.String),
    attach_original_file: Schema.Boolean,
    file_key: Schema.String
  }),
  resolved_config: Schema.Struct({
    marking_definition_id: Schema.String,
    author_identity_standard_id: Schema.NullOr(Schema.String)
  }),
  platform: Schema.Struct({
    vulnerability_read: Schema.Record(Schema.String, VulnerabilityRead),
    vulnerability_read_default: Schema.Unknown,
    note_list: Schema.Record(Schema.String, Schema.Unknown),
    note_list_default: Schema.Unknown
  }),
  frozen_now: Schema.String,
  expect_exception: Schema.Boolean
})
export type CaseSpec = typeof CaseSpec.Type

const LogRecord = Schema.Struct({ level: Schema.String, message: Schema.String })
export type LogRecord = typeof LogRecord.Type

const PythonException = Schema.Struct({ type: Schema.String, message: Schema.String })

const PlatformCall = Schema.Union([
  Schema.Struct({ api: Schema.Literal("vulnerability.read"), kwargs: Schema.Struct({ id: Schema.String }) }),
  Schema.Struct({
    api: Schema.Literal("note.list"),
    kwargs: Schema.Struct({
      filters: Schema.Struct({ filters: Schema.Tuple([Schema.Struct({ values: Schema.Tuple([Schema.String]) })]) })
    })
  })
])

/** What the reference asked the platform, one call per vulnerability or abstract, as sets without duplicates. */
export interface AskedOfPlatform {
  readonly vulnerabilityIds: ReadonlySet<string>
  readonly noteAbstracts: ReadonlySet<string>
}

const askedOf = (calls: ReadonlyArray<typeof PlatformCall.Type>): AskedOfPlatform => ({
  vulnerabilityIds: new Set(calls.flatMap((call) => call.api === "vulnerability.read" ? [call.kwargs.id] : [])),
  noteAbstracts: new Set(
    calls.flatMap((call) => call.api === "note.list" ? [call.kwargs.filters.filters[0].values[0]] : [])
  )
})

export interface GoldenCase {
  readonly name: string
  readonly bytes: Uint8Array
  readonly spec: CaseSpec
  /** `expected.json`: the bundle the reference returned, or null when it returned None or raised. */
  readonly expected: unknown
  /** Warning and error records the reference logged. */
  readonly expectedLog: ReadonlyArray<LogRecord>
  readonly expectedException: Option.Option<typeof PythonException.Type>
  readonly asked: AskedOfPlatform
}

const parseJson = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, text: string): S["Type"] =>
  Schema.decodeUnknownSync(schema)(JSON.parse(text))

export const loadCase = (name: string): GoldenCase => ({
  name,
  bytes: readFileSync(new URL(`${name}/input.json`, root)),
  spec: parseJson(CaseSpec, read(name, "case.json") ?? "null"),
  expected: JSON.parse(read(name, "expected.json") ?? "null"),
  expectedLog: parseJson(Schema.Array(LogRecord), read(name, "expected-log.json") ?? "[]"),
  expectedException: Option.map(Option.fromNullishOr(read(name, "expected-exception.json")), (text) =>
    parseJson(PythonException, text)),
  asked: askedOf(parseJson(Schema.Array(PlatformCall), read(name, "expected-calls.json") ?? "[]"))
})

export const caseNames: ReadonlyArray<string> = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

/** Whether the bytes are what D4 accepts: a JSON object of type "bundle" (BOM and UTF-16/32 allowed). */
export const isBundleDocument = (bytes: Uint8Array): boolean => {
  try {
    const json: unknown = JSON.parse(decodeText(bytes))
    return Predicate.isObject(json) && json["type"] === "bundle"
  } catch {
    return false
  }
}

const raised = (answer: unknown): boolean => Predicate.isObject(answer) && Object.hasOwn(answer, "__raise__")

export interface RecordingPlatform {
  readonly platform: AciPlatform<Error>
  /** The arguments of every call, per kind of look-up. */
  readonly calls: {
    readonly vulnerabilities: Array<ReadonlyArray<string>>
    readonly notes: Array<ReadonlyArray<string>>
  }
}

/**
 * The platform the reference was run against. The reference asked once per vulnerability and once per
 * note abstract, and a read that raised kept its vulnerability (as an unknown one is kept) and counted
 * its note as existing; a batched answer gives each id exactly that answer.
 */
export const platformOf = (spec: CaseSpec): RecordingPlatform => {
  const calls = { vulnerabilities: new Array<ReadonlyArray<string>>(), notes: new Array<ReadonlyArray<string>>() }
  const reads = new Map(Object.values(spec.platform.vulnerability_read).map((read) => [read.standard_id, read.returns]))
  const modifiedAt = (answer: unknown): string | null =>
    Predicate.isObject(answer) && !raised(answer) && Predicate.isString(answer["x_opencti_modified_at"])
      ? answer["x_opencti_modified_at"]
      : null
  const noteExists = (answer: unknown): boolean => raised(answer) || (Array.isArray(answer) && answer.length > 0)
  return {
    calls,
    platform: {
      vulnerabilitiesModifiedAt: (ids) =>
        Effect.sync(() => {
          calls.vulnerabilities.push(ids)
          const answer = (id: string) => reads.has(id) ? reads.get(id) : spec.platform.vulnerability_read_default
          return new Map(ids.map((id) => [id, modifiedAt(answer(id))]))
        }),
      existingNoteAbstracts: (abstracts) =>
        Effect.sync(() => {
          calls.notes.push(abstracts)
          return new Set(abstracts.filter((abstract) =>
            noteExists(Object.hasOwn(spec.platform.note_list, abstract)
              ? spec.platform.note_list[abstract]
              : spec.platform.note_list_default)
          ))
        })
    }
  }
}
