import { assert, describe, it } from "@effect/vitest"
import { Option, Schema } from "effect"
import { readFileSync } from "node:fs"
import { canonicalJson } from "../../src/stix/canonicalJson.js"
import { pythonLower, pythonStrip } from "../../src/stix/python.js"
import {
  courseOfActionId,
  generateId,
  identityId,
  indicatorId,
  infrastructureId,
  malwareId,
  noteId,
  organizationId,
  relationshipId,
  vulnerabilityId
} from "../../src/stix/StixId.js"
import { formatStixTimestamp } from "../../src/stix/stixTimestamp.js"
import { tlpMarkingId } from "../../src/stix/TlpMarking.js"

const Vector = Schema.Struct({
  type: Schema.String,
  input: Schema.Record(Schema.String, Schema.NullOr(Schema.String)),
  id: Schema.String,
  note: Schema.optionalKey(Schema.String)
})

const vectors = Schema.decodeUnknownSync(Schema.Array(Vector))(
  JSON.parse(readFileSync(new URL("../fixtures/stix-ids.json", import.meta.url), "utf8"))
)

const text = (input: Readonly<Record<string, string | null>>, key: string): string => input[key] ?? ""

/**
 * pycti 6.x, which produced the vectors, hashes a course-of-action's `x_mitre_id` verbatim; the pinned
 * 7.x lower-cases and strips it. Vectors whose MITRE id is not already in that form are checked
 * against the 6.x rule through the generic generator, and the pinned rule is checked to differ.
 */
const isPycti6MitreVector = (vector: typeof Vector.Type): boolean => {
  const mitreId = vector.input["x_mitre_id"]
  return vector.type === "CourseOfAction" && mitreId !== null && mitreId !== undefined &&
    pythonStrip(pythonLower(mitreId)) !== mitreId
}

const idOf = ({ input, type }: typeof Vector.Type): string => {
  switch (type) {
    case "Vulnerability":
      return vulnerabilityId(text(input, "name"))
    case "Infrastructure":
      return infrastructureId(text(input, "name"))
    case "Malware":
      return malwareId(text(input, "name"))
    case "Identity":
      return identityId(text(input, "name"), text(input, "identity_class"))
    case "CourseOfAction":
      return courseOfActionId(text(input, "name"), input["x_mitre_id"])
    case "Indicator":
      return indicatorId(text(input, "pattern"))
    case "Note":
      return noteId(text(input, "content"), input["created"])
    case "StixCoreRelationship":
      return relationshipId({
        relationshipType: text(input, "relationship_type"),
        sourceRef: text(input, "source_ref"),
        targetRef: text(input, "target_ref"),
        startTime: input["start_time"],
        stopTime: input["stop_time"]
      })
    default:
      throw new Error(`unknown vector type ${type}`)
  }
}

describe("deterministic ids", () => {
  it("has all 67 vectors", () => {
    assert.strictEqual(vectors.length, 67)
  })

  it.each(vectors.filter((vector) => !isPycti6MitreVector(vector)))(
    "$type $input -> $id",
    (vector) => {
      assert.strictEqual(idOf(vector), vector.id)
    }
  )

  it.each(vectors.filter(isPycti6MitreVector))(
    "CourseOfAction $input: pycti 6 hashes x_mitre_id verbatim -> $id; the pinned rule lower-cases and strips it",
    (vector) => {
      const mitreId = text(vector.input, "x_mitre_id")
      assert.strictEqual(generateId("course-of-action", { x_mitre_id: mitreId }), vector.id)
      const pinned = courseOfActionId(text(vector.input, "name"), mitreId)
      assert.strictEqual(pinned, generateId("course-of-action", { x_mitre_id: pythonStrip(pythonLower(mitreId)) }))
      assert.notStrictEqual(pinned, vector.id)
    }
  )

  it("gives course-of-action ids with a MITRE id as the golden bundles have them", () => {
    assert.strictEqual(
      courseOfActionId("Restrict Web-Based Content", "M1021"),
      "course-of-action--0e025b0c-f814-5aae-9f7d-70d0ea6c25c2"
    )
    assert.strictEqual(courseOfActionId("Mitigation", "m1050"), courseOfActionId("Other", " M1050 "))
  })

  it("gives the author organization the id the platform creates for it", () => {
    assert.strictEqual(
      organizationId("Accenture Cyber Threat Intelligence"),
      "identity--33eef3ca-a029-5d36-872d-33289a28c22e"
    )
  })
})

describe("Python string semantics", () => {
  it("strips Python's whitespace set, not JavaScript's", () => {
    assert.strictEqual(pythonStrip("\x1c\x85 a b\u3000\x1f"), "a b")
    assert.strictEqual(pythonStrip("\ufeffa"), "\ufeffa")
    assert.strictEqual(pythonStrip(" \t\n"), "")
  })

  it("writes canonical JSON with sorted keys and raw non-ASCII", () => {
    assert.strictEqual(
      canonicalJson({ target_ref: "b", relationship_type: "uses", source_ref: "a" }),
      "{\"relationship_type\":\"uses\",\"source_ref\":\"a\",\"target_ref\":\"b\"}"
    )
    assert.strictEqual(canonicalJson({ name: "é\u2028\"\n" }), "{\"name\":\"é\u2028\\\"\\n\"}")
  })
})

describe("stix2 timestamps", () => {
  it.each([
    ["2024-04-12T07:41:09Z", "2024-04-12T07:41:09.000Z"],
    ["2024-04-12T07:41:09.1Z", "2024-04-12T07:41:09.100Z"],
    ["2024-04-12T07:41:09.120000Z", "2024-04-12T07:41:09.120Z"],
    ["2024-04-12T07:41:09.123456Z", "2024-04-12T07:41:09.123456Z"],
    ["2024-04-12T07:41:09.1234Z", "2024-04-12T07:41:09.1234Z"]
  ])("formats %s as %s", (input, expected) => {
    assert.deepStrictEqual(formatStixTimestamp(input), Option.some(expected))
  })

  it.each([
    "2024-04-12T07:41:09+00:00",
    "2024-04-12 07:41:09Z",
    "2024-02-30T00:00:00Z",
    "2024-04-12T07:41:09.1234567Z"
  ])(
    "rejects %s",
    (input) => {
      assert.isTrue(Option.isNone(formatStixTimestamp(input)))
    }
  )
})

describe("TLP markings", () => {
  it("knows every TLP level in any case, CLEAR and WHITE being one marking", () => {
    assert.deepStrictEqual(
      tlpMarkingId("tlp:amber+strict"),
      Option.some("marking-definition--826578e1-40ad-459f-bc73-ede076f81f37")
    )
    assert.deepStrictEqual(tlpMarkingId("TLP:CLEAR"), tlpMarkingId("tlp:white"))
    assert.deepStrictEqual(
      tlpMarkingId("TLP:GREEN"),
      Option.some("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da")
    )
    assert.isTrue(Option.isNone(tlpMarkingId("TLP:PURPLE")))
  })
})
