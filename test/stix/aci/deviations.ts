import { Option, Predicate, Schema } from "effect"
import { decodeText, StixBundle, type StixObject } from "../../../src/stix/Bundle.js"
import { standardIdOf } from "../../../src/stix/aci/idRewrite.js"
import { noteId, vulnerabilityId } from "../../../src/stix/StixId.js"
import { tlpMarkingId } from "../../../src/stix/TlpMarking.js"
import type { GoldenCase } from "./goldenCases.js"

/**
 * The deliberate deviations from the reference (README of the golden vectors, D1-D6), each applied to
 * the reference's expectation by one function.
 */

const decodeBundle = Schema.decodeUnknownSync(StixBundle)

const inputObjects = (goldenCase: GoldenCase): ReadonlyArray<StixObject> =>
  decodeBundle(JSON.parse(decodeText(goldenCase.bytes))).objects ?? []

const string = (object: StixObject, key: string): string => Predicate.isString(object[key]) ? object[key] : ""

/** D1: only the original file is attached; the double-encoded `opencti-bundle.json` snapshot is not. */
export const d1OnlyOriginalFileAttached = (object: StixObject): StixObject =>
  Array.isArray(object["x_opencti_files"])
    ? {
      ...object,
      x_opencti_files: object["x_opencti_files"].filter((file: unknown) =>
        !(Predicate.isObject(file) && file["name"] === "opencti-bundle.json")
      )
    }
    : object


/**
 * D2: every top-level `*_ref` / `*_refs` follows the id rewrite. A reference in the expectation to an
 * input id that is no longer in the bundle becomes the standard id that object was given.
 */
export const d2ReferencesFollowRewrittenIds = (goldenCase: GoldenCase) => {
  return (objects: ReadonlyArray<StixObject>): ReadonlyArray<StixObject> => {
    const present = new Set(objects.map((object) => object.id))
    const rewritten = new Map<string, string>()
    for (const object of inputObjects(goldenCase)) {
      const standardId = standardIdOf(object)
      if (standardId !== undefined && present.has(standardId)) rewritten.set(object.id, standardId)
    }
    const follow = (ref: unknown): unknown =>
      Predicate.isString(ref) && !present.has(ref) ? rewritten.get(ref) ?? ref : ref
    return objects.map((object) => ({
      ...object,
      ...Object.fromEntries(Object.entries(object).flatMap(([key, value]) => {
        if (key.endsWith("_ref")) return [[key, follow(value)]]
        if (key.endsWith("_refs") && Array.isArray(value)) return [[key, value.map(follow)]]
        return []
      }))
    }))
  }
}

/** The marking the project resolves the configured name to; an unknown name is a configuration error (D3). */
export const projectMarking = (goldenCase: GoldenCase): string =>
  Option.getOrThrowWith(
    tlpMarkingId(goldenCase.spec.config.marking),
    () => new Error(`unknown marking ${goldenCase.spec.config.marking}`)
  )

/**
 * D3: TLP:AMBER+STRICT is supported instead of falling back to TLP:GREEN. Where the reference put its
 * fallback marking, the project puts the configured one (the input holds no marking of its own then).
 */
export const d3ConfiguredMarking = (goldenCase: GoldenCase) => {
  const fallback = goldenCase.spec.resolved_config.marking_definition_id
  const configured = projectMarking(goldenCase)
  return (object: StixObject): StixObject => {
    if (fallback === configured || !Array.isArray(object["object_marking_refs"])) return object
    if (new TextDecoder().decode(goldenCase.bytes).includes(fallback)) {
      throw new Error(`${goldenCase.name}: the input holds ${fallback} itself; D3 cannot tell them apart`)
    }
    return {
      ...object,
      object_marking_refs: object["object_marking_refs"].map((ref: unknown) => ref === fallback ? configured : ref)
    }
  }
}

/** D6: a list `x_cwe` is copied as it is rather than nested in another list. */
export const d6CweListCopied = (object: StixObject): StixObject =>
  Array.isArray(object["x_cwe"]) ? { ...object, x_opencti_cwe: object["x_cwe"] } : object

/** The expectation for a bundle the reference returned, with D1, D2, D3 and D6 applied. */
export const adjustedExpectation = (goldenCase: GoldenCase, expected: unknown): StixBundle => {
  const bundle = decodeBundle(expected)
  const objects = (bundle.objects ?? []).map(d1OnlyOriginalFileAttached).map(d3ConfiguredMarking(goldenCase)).map(
    d6CweListCopied
  )
  return { ...bundle, objects: d2ReferencesFollowRewrittenIds(goldenCase)(objects) }
}

/**
 * D5: a null history timestamp sorts as the empty string, below every real timestamp, instead of
 * crashing. The reference never produced this bundle; it is what it produces for the same entry
 * without timestamp: the history note (before the vulnerability) and the vulnerability.
 */
export const d5HistoryNullTimestamp = (goldenCase: GoldenCase): StixBundle => {
  const [vulnerability] = inputObjects(goldenCase)
  if (vulnerability === undefined) throw new Error(`${goldenCase.name}: no input object`)
  const author = goldenCase.spec.resolved_config.author_identity_standard_id
  const marking = projectMarking(goldenCase)
  const uuid = string(vulnerability, "x_acti_uuid")
  const created = string(vulnerability, "created")
  const standardId = vulnerabilityId(string(vulnerability, "name"))
  return {
    type: "bundle",
    id: "bundle--00000000-0000-4000-8000-000000000001",
    spec_version: "2.1",
    objects: [
      {
        type: "note",
        spec_version: "2.1",
        id: noteId(`${uuid} - History`, created),
        created_by_ref: author,
        created,
        modified: goldenCase.spec.frozen_now,
        abstract: `${string(vulnerability, "name")} - History`,
        content: "| Timestamp | Comment |\n|---------|---------|\n" +
          "| 2024-09-19T00:00:00Z | created |\n" +
          "|  | null timestamp |\n",
        object_refs: [standardId],
        object_marking_refs: [marking]
      },
      {
        ...vulnerability,
        id: standardId,
        external_references: [{ source_name: "ACTI UUID", external_id: uuid }],
        x_opencti_modified_at: vulnerability["modified"],
        created_by_ref: author,
        object_marking_refs: [marking]
      }
    ]
  }
}
