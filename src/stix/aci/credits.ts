import { Predicate } from "effect"
import type { StixObject } from "../Bundle.js"
import { isPythonTruthy } from "../python.js"
import { identityId, relationshipId } from "../StixId.js"
import { createdBy, type GeneratedObjectContext } from "./AciPlatform.js"

/**
 * `x_credit` names the researcher credited for a vulnerability: an individual identity (marked, no
 * author) and a `related-to` relationship from the object to it, built as stix2 builds them.
 */
export const creditsOf = (object: StixObject, context: GeneratedObjectContext): ReadonlyArray<StixObject> => {
  const credit = object["x_credit"]
  if (!isPythonTruthy(credit) || !Predicate.isString(credit)) return []
  const individualId = identityId(credit, "individual")
  const identity: StixObject = {
    type: "identity",
    spec_version: "2.1",
    id: individualId,
    created: context.now,
    modified: context.now,
    name: credit,
    identity_class: "individual",
    object_marking_refs: [context.marking]
  }
  const relationship: StixObject = {
    type: "relationship",
    spec_version: "2.1",
    id: relationshipId({ relationshipType: "related-to", sourceRef: object.id, targetRef: individualId }),
    ...createdBy(context.authorId),
    created: context.now,
    modified: context.now,
    relationship_type: "related-to",
    source_ref: object.id,
    target_ref: individualId,
    object_marking_refs: [context.marking]
  }
  return [identity, relationship]
}
