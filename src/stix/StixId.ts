import { hash } from "node:crypto"
import { canonicalJson } from "./canonicalJson.js"
import { pythonLower, pythonStrip } from "./python.js"

/** The namespace pycti (and the OpenCTI platform) derive every deterministic STIX id from. */
const OPENCTI_NAMESPACE = "00abedb4-aa42-466c-9c01-fed23315a9b7"

const uuidBytes = (uuid: string): Buffer => Buffer.from(uuid.replaceAll("-", ""), "hex")

const NAMESPACE_BYTES = uuidBytes(OPENCTI_NAMESPACE)

/** RFC 4122 version 5 UUID, as Python's `uuid.uuid5(namespace, name)`: SHA-1, version and variant bits set. */
const uuidV5 = (namespace: Uint8Array, name: string): string => {
  const hex = hash("sha1", Buffer.concat([namespace, Buffer.from(name, "utf8")]), "hex")
  const variant = ((Number.parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-` +
    hex.slice(20, 32)
}

/** `<prefix>--<uuid5(namespace, canonical JSON of data)>`, the shape of every pycti `generate_id`. */
export const generateId = (prefix: string, data: Readonly<Record<string, string>>): string =>
  `${prefix}--${uuidV5(NAMESPACE_BYTES, canonicalJson(data))}`

const normalizeName = (name: string): string => pythonStrip(pythonLower(name))

export const vulnerabilityId = (name: string): string => generateId("vulnerability", { name: normalizeName(name) })

export const infrastructureId = (name: string): string => generateId("infrastructure", { name: normalizeName(name) })

export const malwareId = (name: string): string => generateId("malware", { name: normalizeName(name) })

/** The identity class is lower-cased but, unlike the name, not stripped. */
export const identityId = (name: string, identityClass: string): string =>
  generateId("identity", { name: normalizeName(name), identity_class: pythonLower(identityClass) })

/** The id of the organization the platform creates for an author name. */
export const organizationId = (name: string): string => identityId(name, "organization")

/**
 * A MITRE id wins over the name (even when empty). It is lower-cased and stripped as the pycti release
 * the connector pins does; pycti 6.x used it verbatim, so ids of course-of-actions with a MITRE id
 * that is not already lower case differ between the two.
 */
export const courseOfActionId = (name: string, xMitreId: string | null | undefined): string =>
  xMitreId === null || xMitreId === undefined
    ? generateId("course-of-action", { name: normalizeName(name) })
    : generateId("course-of-action", { x_mitre_id: normalizeName(xMitreId) })

/** The pattern is stripped for the id only, never lower-cased. */
export const indicatorId = (pattern: string): string => generateId("indicator", { pattern: pythonStrip(pattern) })

/** `created` is hashed verbatim, in whatever spelling the caller has it. */
export const noteId = (content: string, created: string | null | undefined): string =>
  created === null || created === undefined
    ? generateId("note", { content: pythonStrip(content) })
    : generateId("note", { content: pythonStrip(content), created })

export interface RelationshipIdInput {
  readonly relationshipType: string
  readonly sourceRef: string
  readonly targetRef: string
  readonly startTime?: string | null | undefined
  readonly stopTime?: string | null | undefined
}

/** No normalisation at all; `stop_time` counts only together with `start_time`. */
export const relationshipId = (input: RelationshipIdInput): string => {
  const base = { relationship_type: input.relationshipType, source_ref: input.sourceRef, target_ref: input.targetRef }
  if (input.startTime === null || input.startTime === undefined) return generateId("relationship", base)
  if (input.stopTime === null || input.stopTime === undefined) {
    return generateId("relationship", { ...base, start_time: input.startTime })
  }
  return generateId("relationship", { ...base, start_time: input.startTime, stop_time: input.stopTime })
}
