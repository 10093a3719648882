import { Option } from "effect"
import { stringField } from "../Bundle.js"
import type { StixObject } from "../Bundle.js"

/**
 * ACI links software to vulnerabilities the other way round from OpenCTI: `related-to` and
 * `remediated-by` from a vulnerability to a software become `has` / `remediates` from the software,
 * and `remediated-by` from a software becomes `remediates`.
 */
export const repairRelationship = (object: StixObject): StixObject => {
  if (object.type !== "relationship") return object
  const type = object["relationship_type"]
  const source = stringField(object, "source_ref")
  const target = stringField(object, "target_ref")
  const vulnerabilityToSoftware = source.startsWith("vulnerability") && target.startsWith("software")
  if (type === "related-to" && vulnerabilityToSoftware) {
    return { ...object, relationship_type: "has", source_ref: target, target_ref: source }
  }
  if (type === "remediated-by" && vulnerabilityToSoftware) {
    return { ...object, relationship_type: "remediates", source_ref: target, target_ref: source }
  }
  if (type === "remediated-by" && source.startsWith("software") && target.startsWith("vulnerability")) {
    return { ...object, relationship_type: "remediates" }
  }
  return object
}

/** The end of a relationship that points outside the bundle, the source first. */
export interface MissingEnd {
  readonly direction: "from" | "to"
  readonly ref: string
}

export const missingEnd = (object: StixObject, included: ReadonlySet<string>): Option.Option<MissingEnd> => {
  if (object.type !== "relationship") return Option.none()
  const source = stringField(object, "source_ref")
  if (!included.has(source)) return Option.some({ direction: "from", ref: source })
  const target = stringField(object, "target_ref")
  return included.has(target) ? Option.none() : Option.some({ direction: "to", ref: target })
}
