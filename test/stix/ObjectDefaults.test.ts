import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import type { StixObject } from "../../src/stix/Bundle.js"
import { defaultsOnly } from "../../src/stix/ObjectDefaults.js"

const author = "identity--33eef3ca-a029-5d36-872d-33289a28c22e"
const green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
const amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"

const vulnerability: StixObject = {
  type: "vulnerability",
  id: "vulnerability--b1d537c9-edba-4631-85d8-b48e273565f2",
  name: "CVE-2023-20198",
  modified: "2023-10-20T00:00:00.000Z",
  created_by_ref: "identity--43d8c061-109d-45ef-b029-76cceb5a9f06",
  object_marking_refs: [amber],
  x_severity: 5
}
const software: StixObject = {
  type: "software",
  id: "software--e4015c53-87bd-4e92-8de5-8600759aef8d",
  name: "IOS XE",
  object_marking_refs: []
}
const identity: StixObject = {
  type: "identity",
  id: "identity--43d8c061-109d-45ef-b029-76cceb5a9f06",
  name: "Mandiant",
  identity_class: "organization"
}
const bundle = {
  type: "bundle",
  id: "bundle--6b0cb1a5-0f5f-4e0c-9d0a-9d5b1f1f5f10",
  objects: [vulnerability, software, identity]
} as const

describe("defaultsOnly (the none profile)", () => {
  it("fills in only x_opencti_modified_at, the author and the marking, each where absent", () => {
    assert.deepStrictEqual(
      defaultsOnly(bundle, { marking: green, authorId: Option.some(author) }),
      Option.some({
        ...bundle,
        objects: [
          { ...vulnerability, x_opencti_modified_at: "2023-10-20T00:00:00.000Z" },
          { ...software, created_by_ref: author },
          { ...identity, created_by_ref: author, object_marking_refs: [green] }
        ]
      })
    )
  })

  it("sets no created_by_ref without an author", () => {
    const objects = Option.getOrThrow(defaultsOnly(bundle, { marking: green, authorId: Option.none() })).objects ?? []
    assert.deepStrictEqual(
      objects.map((object) => object["created_by_ref"]),
      [vulnerability["created_by_ref"], undefined, undefined]
    )
  })

  it("has nothing to send for a bundle without objects", () => {
    const defaults = { marking: green, authorId: Option.some(author) }
    assert.isTrue(Option.isNone(defaultsOnly({ type: "bundle", objects: [] }, defaults)))
    assert.isTrue(Option.isNone(defaultsOnly({ type: "bundle", objects: null }, defaults)))
    assert.isTrue(Option.isNone(defaultsOnly({ type: "bundle" }, defaults)))
  })
})
