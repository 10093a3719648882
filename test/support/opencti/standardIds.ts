import { createHash } from "node:crypto"

// OpenCTI's namespace for deterministic STIX ids.
const OPENCTI_NAMESPACE = Buffer.from("00abedb4aa42466c9c01fed23315a9b7", "hex")

const uuidV5 = (name: string): string => {
  const hash = createHash("sha1").update(OPENCTI_NAMESPACE).update(name, "utf8").digest()
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * `identity--uuid5(ns, {"identity_class":…,"name":…})` with keys sorted and the name lower-cased and
 * trimmed, as the platform upserts identities (JavaScript trimming, not Python's `strip()`).
 */
export const identityStandardId = (name: string, identityClass: string): string => {
  const canonical = JSON.stringify({ identity_class: identityClass.toLowerCase(), name: name.toLowerCase().trim() })
  return `identity--${uuidV5(canonical)}`
}
