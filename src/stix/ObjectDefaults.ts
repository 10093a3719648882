import { Option } from "effect"
import { bundleObjects, type StixBundle, type StixObject } from "./Bundle.js"

/** What every imported object gets when it does not say otherwise. */
export interface ObjectDefaults {
  /** The marking-definition id for objects without `object_marking_refs`. */
  readonly marking: string
  /** The author identity id for objects without `created_by_ref`. */
  readonly authorId: Option.Option<string>
}

/**
 * `x_opencti_modified_at` follows `modified`; author and marking are filled in only when the key is
 * absent, so an explicit `object_marking_refs: []` stays an object without marking.
 */
export const applyDefaults = (object: StixObject, defaults: ObjectDefaults): StixObject => {
  const result = { ...object }
  if (Object.hasOwn(object, "modified")) result["x_opencti_modified_at"] = object["modified"]
  if (Option.isSome(defaults.authorId) && !Object.hasOwn(object, "created_by_ref")) {
    result["created_by_ref"] = defaults.authorId.value
  }
  if (!Object.hasOwn(object, "object_marking_refs")) result["object_marking_refs"] = [defaults.marking]
  return result
}

/** The `none` profile: the bundle as it is, with the defaults applied; none when it has no objects. */
export const defaultsOnly = (bundle: StixBundle, defaults: ObjectDefaults): Option.Option<StixBundle> => {
  const objects = bundleObjects(bundle)
  return objects.length === 0
    ? Option.none()
    : Option.some({ ...bundle, objects: objects.map((object) => applyDefaults(object, defaults)) })
}
