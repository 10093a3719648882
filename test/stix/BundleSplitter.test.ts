import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { readFileSync } from "node:fs"
import { parseUntrusted } from "../../src/stix/untrustedJson.js"
import { StixBundle, bundleObjects } from "../../src/stix/Bundle.js"
import type { StixObject } from "../../src/stix/Bundle.js"
import { splitBundle } from "../../src/stix/BundleSplitter.js"

const fixture = (path: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), "utf8").replace(/^\uFEFF/, ""))

const Expected = Schema.Record(Schema.String, Schema.Struct({
  expectations: Schema.Number,
  sequence: Schema.Array(Schema.Tuple([Schema.String, Schema.Number])),
  bundles: Schema.optionalKey(Schema.Array(Schema.Unknown))
}))

const expected = Schema.decodeUnknownSync(Expected)(fixture("splitter/pycti-splits.json"))

const bundleId = "bundle--11111111-1111-4111-8111-111111111111"
const tlpGreen = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"

const object = (type: string, name: string, fields: Record<string, unknown> = {}): StixObject => ({ type, id: `${type}--${name}`, ...fields })

const sequenceOf = (objects: ReadonlyArray<StixObject>) =>
  splitBundle(bundleId, objects).bundles.map((bundle) => [bundle.objects[0].id, bundle.x_opencti_seq])

describe("splitBundle", () => {
  it("reproduces pycti's worked example", () => {
    const identity = object("identity", "a", { name: "A", identity_class: "organization" })
    const vulnerability = object("vulnerability", "v", {
      name: "V",
      created_by_ref: identity.id,
      object_marking_refs: [tlpGreen],
      external_references: [
        { source_name: "only-source" },
        { source_name: "ACTI UUID", external_id: "u1" },
        { source_name: "ACTI UUID", external_id: "u1" }
      ]
    })
    const relationship = object("relationship", "r", { relationship_type: "related-to", source_ref: vulnerability.id, target_ref: identity.id })
    const custom = object("x-custom-thing", "c", { name: "C" })

    const result = splitBundle(bundleId, [identity, vulnerability, relationship, custom])

    assert.strictEqual(result.expectations, 3)
    assert.deepStrictEqual(result.bundles, [
      { type: "bundle", id: bundleId, spec_version: "2.1", x_opencti_seq: 1, objects: [{ ...identity, nb_deps: 1 }] },
      {
        type: "bundle",
        id: bundleId,
        spec_version: "2.1",
        x_opencti_seq: 2,
        objects: [{ ...vulnerability, external_references: [{ source_name: "ACTI UUID", external_id: "u1" }], nb_deps: 2 }]
      },
      { type: "bundle", id: bundleId, spec_version: "2.1", x_opencti_seq: 4, objects: [{ ...relationship, nb_deps: 4 }] }
    ])
  })

  it("leaves its input untouched", () => {
    const objects = [
      object("identity", "a"),
      object("vulnerability", "v", { created_by_ref: "identity--a", external_references: [{ source_name: "only-source" }] })
    ]
    const before = structuredClone(objects)
    splitBundle(bundleId, objects)
    assert.deepStrictEqual(objects, before)
  })

  it("keeps numbers with their exact text in the bundles it makes", () => {
    const result = parseUntrusted(`{"type":"bundle","objects":[{"type":"malware","id":"malware--${"1".repeat(8)}-1111-4111-8111-111111111111","x_score":1.0,"x_big":12345678901234567890}]}`)
    const objects = Result.isSuccess(result) ? bundleObjects(Schema.decodeUnknownSync(StixBundle)(result.success)) : []
    const [only] = splitBundle(bundleId, objects).bundles
    assert.include(JSON.stringify(only), "\"x_score\":1.0,\"x_big\":12345678901234567890")
  })

  it("rewrites references it cannot follow", () => {
    const [, note] = splitBundle(bundleId, [
      object("x-custom-thing", "c"),
      object("note", "n", {
        object_refs: ["x-custom-thing--c", "note--n", "malware--m", "malware--m", "not-a-stix-id"],
        created_by_ref: "x-custom-thing--c",
        sample_ref: "note--n"
      }),
      object("malware", "m")
    ]).bundles.map((bundle) => bundle.objects[0])
    assert.deepStrictEqual(note, {
      type: "note",
      id: "note--n",
      object_refs: ["malware--m", "not-a-stix-id"],
      created_by_ref: null,
      sample_ref: null,
      nb_deps: 3
    })
  })

  it("drops relationships and sightings whose ends cannot be followed", () => {
    const result = splitBundle(bundleId, [
      object("x-custom-thing", "c"),
      object("malware", "m"),
      object("relationship", "to-custom", { source_ref: "malware--m", target_ref: "x-custom-thing--c" }),
      object("relationship", "outside", { source_ref: "malware--m", target_ref: "malware--elsewhere" }),
      object("sighting", "nowhere", { sighting_of_ref: "malware--m", where_sighted_refs: ["x-custom-thing--c"] }),
      object("sighting", "somewhere", { sighting_of_ref: "malware--m", where_sighted_refs: ["identity--elsewhere"] })
    ])
    assert.deepStrictEqual(result.bundles.map((bundle) => [bundle.objects[0].id, bundle.x_opencti_seq]), [
      ["malware--m", 1],
      ["relationship--outside", 2],
      ["sighting--somewhere", 2]
    ])
    assert.strictEqual(result.expectations, 3)
  })

  it("de-duplicates kill chain phases and external references by their identity", () => {
    const [pattern] = splitBundle(bundleId, [
      object("attack-pattern", "p", {
        kill_chain_phases: [
          { kill_chain_name: "mitre", phase_name: "execution" },
          { kill_chain_name: "mitre", phase_name: "execution", x_extra: 1 },
          { kill_chain_name: "mitre", phase_name: "persistence" }
        ],
        external_references: [
          { source_name: "a", url: "https://example.org/1" },
          { source_name: "b", url: "https://example.org/1" },
          { source_name: "cve", external_id: "CVE-1" },
          { source_name: "cve", external_id: "CVE-1", description: "again" }
        ]
      })
    ]).bundles.map((bundle) => bundle.objects[0])
    assert.deepStrictEqual(pattern?.kill_chain_phases, [
      { kill_chain_name: "mitre", phase_name: "execution" },
      { kill_chain_name: "mitre", phase_name: "persistence" }
    ])
    assert.deepStrictEqual(pattern?.external_references, [
      { source_name: "a", url: "https://example.org/1" },
      { source_name: "cve", external_id: "CVE-1" }
    ])
  })

  it("counts each dependency chain once and survives reference cycles", () => {
    assert.deepStrictEqual(
      sequenceOf([
        object("report", "a", { object_refs: ["report--b"] }),
        object("report", "b", { object_refs: ["report--c"] }),
        object("report", "c", { object_refs: ["report--a"] })
      ]),
      [["report--c", 2], ["report--b", 3], ["report--a", 4]]
    )
  })

  it("resolves references through OpenCTI internal ids", () => {
    assert.deepStrictEqual(
      sequenceOf([
        object("identity", "a", { x_opencti_id: "internal-a" }),
        object("malware", "m", {
          extensions: { "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba": { id: "internal-m" } },
          created_by_ref: "internal-a"
        }),
        object("relationship", "r", { source_ref: "internal-m", target_ref: "identity--a" })
      ]),
      [["identity--a", 1], ["malware--m", 2], ["relationship--r", 4]]
    )
  })

  describe("on the golden bundles, as pycti's splitter splits them", () => {
    for (const [path, split] of Object.entries(expected)) {
      it(path, () => {
        const bundle = Schema.decodeUnknownSync(StixBundle)(fixture(`golden/${path}`))
        const result = splitBundle(bundle.id ?? bundleId, bundleObjects(bundle))
        assert.strictEqual(result.expectations, split.expectations)
        assert.deepStrictEqual(result.bundles.map((each) => [each.objects[0].id, each.x_opencti_seq]), split.sequence.map(([id, seq]) => [id, seq]))
        if (split.bundles !== undefined) assert.deepStrictEqual(result.bundles, split.bundles)
        for (const each of result.bundles) assert.strictEqual(each.objects[0].nb_deps, each.x_opencti_seq)
      })
    }
  })
})
