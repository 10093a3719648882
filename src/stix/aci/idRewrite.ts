import { Predicate } from "effect"
import { stringField as field } from "../Bundle.js"
import type { StixObject } from "../Bundle.js"
import {
  courseOfActionId,
  identityId,
  indicatorId,
  infrastructureId,
  malwareId,
  relationshipId,
  vulnerabilityId
} from "../StixId.js"

const optionalField = (object: StixObject, key: string): string | undefined =>
  Predicate.isString(object[key]) ? object[key] : undefined

const REWRITTEN_TYPES: ReadonlySet<string> = new Set([
  "vulnerability", "infrastructure", "malware", "identity", "course-of-action", "indicator"
])

/** The platform's standard id of the object types the platform deduplicates by content. */
export const standardIdOf = (object: StixObject): string | undefined => {
  switch (object.type) {
    case "vulnerability":
      return vulnerabilityId(field(object, "name"))
    case "infrastructure":
      return infrastructureId(field(object, "name"))
    case "malware":
      return malwareId(field(object, "name"))
    case "identity":
      return identityId(field(object, "name"), field(object, "identity_class"))
    case "course-of-action":
      return courseOfActionId(field(object, "name"), optionalField(object, "x_mitre_id"))
    case "indicator":
      return indicatorId(field(object, "pattern"))
    default:
      return undefined
  }
}

const rewriteRef = (value: unknown, ids: ReadonlyMap<string, string>): unknown =>
  Predicate.isString(value) ? ids.get(value) ?? value : value

/** Every top-level `*_ref` / `*_refs` of the object through the id map, so no reference is left dangling. */
const rewriteRefs = (object: StixObject, ids: ReadonlyMap<string, string>): StixObject => {
  let changes: Record<string, unknown> | undefined
  for (const key of Object.keys(object)) {
    const value = object[key]
    if (key.endsWith("_ref") && Predicate.isString(value) && ids.has(value)) {
      changes = { ...changes, [key]: ids.get(value) }
    } else if (key.endsWith("_refs") && Array.isArray(value) && value.some((ref) => rewriteRef(ref, ids) !== ref)) {
      changes = { ...changes, [key]: value.map((ref) => rewriteRef(ref, ids)) }
    }
  }
  return changes === undefined ? object : { ...object, ...changes }
}

/**
 * Gives objects the platform deduplicates their standard id, follows the new ids in every reference,
 * and recomputes every relationship id from its (rewritten) ends and times.
 */
export const rewriteIds = (objects: ReadonlyArray<StixObject>): ReadonlyArray<StixObject> => {
  const ids = new Map<string, string>()
  for (const object of objects) {
    const standardId = standardIdOf(object)
    if (standardId !== undefined) ids.set(object.id, standardId)
  }
  return objects.map((object) => {
    const rewritten = rewriteRefs(object, ids)
    if (rewritten.type === "relationship") {
      return {
        ...rewritten,
        id: relationshipId({
          relationshipType: field(rewritten, "relationship_type"),
          sourceRef: field(rewritten, "source_ref"),
          targetRef: field(rewritten, "target_ref"),
          startTime: optionalField(rewritten, "start_time"),
          stopTime: optionalField(rewritten, "stop_time")
        })
      }
    }
    const standardId = REWRITTEN_TYPES.has(object.type) ? ids.get(object.id) : undefined
    return standardId === undefined ? rewritten : { ...rewritten, id: standardId }
  })
}
