import { Predicate } from "effect"
import { cloneJson } from "./untrustedJson.js"
import type { StixObject } from "./Bundle.js"

/** The extension OpenCTI stores its internal id under. */
const OPENCTI_EXTENSION = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"

/**
 * The types the platform imports (pycti's entities, observables and relationships); objects of any
 * other type are dropped, and references to them are not followed.
 */
const supportedTypes: ReadonlySet<string> = new Set([
  "label", "vocabulary", "kill-chain-phase",
  "attack-pattern", "campaign", "case-incident", "x-opencti-case-incident", "case-rfi", "x-opencti-case-rfi",
  "case-rft", "x-opencti-case-rft", "channel", "course-of-action", "data-component", "x-mitre-data-component",
  "data-source", "x-mitre-data-source", "event", "external-reference", "feedback", "x-opencti-feedback",
  "grouping", "identity", "incident", "indicator", "infrastructure", "intrusion-set", "language", "location",
  "malware", "malware-analysis", "marking-definition", "narrative", "note", "observed-data", "opinion",
  "report", "task", "x-opencti-task", "threat-actor", "tool", "vulnerability", "security-coverage",
  "user", "group", "capability", "role", "settings", "notification", "work", "trash", "draftworkspace",
  "playbook", "deleteoperation", "workspace", "publicdashboard",
  "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "email-mime-part-type",
  "artifact", "file", "x509-certificate", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic",
  "process", "software", "url", "user-account", "windows-registry-key", "windows-registry-value-type",
  "hostname", "cryptographic-key", "cryptocurrency-wallet", "text", "user-agent", "bank-account",
  "phone-number", "credential", "tracking-number", "payment-card", "media-content", "simple-observable",
  "persona", "ssh-key", "ai-prompt", "imei", "iccid", "imsi",
  "relationship", "sighting", "pir"
])

/** One object per bundle; `x_opencti_seq` is the object's dependency count. */
export interface SplitBundle {
  readonly type: "bundle"
  readonly id: string
  readonly spec_version: "2.1"
  readonly x_opencti_seq: number
  readonly objects: readonly [StixObject]
}

export interface SplitResult {
  /** The bundles in publishing order: fewest dependencies first, bundle order among equals. */
  readonly bundles: ReadonlyArray<SplitBundle>
  /** How many objects the workers will report on (`workEdit.addExpectations`). */
  readonly expectations: number
}

type Item = Record<string, unknown>

/** A string that is not a STIX id (no `--`) is not filtered, as in pycti. */
const isIdSupported = (id: string): boolean => !id.includes("--") || supportedTypes.has(id.split("--")[0]!)

const isItem: (value: unknown) => value is Item = Predicate.isObject

const internalIds = (item: Item): Array<string> => {
  const ids: Array<string> = []
  if (typeof item.x_opencti_id === "string" && item.x_opencti_id.length > 0) ids.push(item.x_opencti_id)
  const extension = isItem(item.extensions) ? item.extensions[OPENCTI_EXTENSION] : undefined
  if (isItem(extension) && typeof extension.id === "string" && extension.id.length > 0) ids.push(extension.id)
  return ids
}

const present = (value: unknown): unknown => value ?? null

/** pycti's identity of an external reference: its url, else source name and external id, else none (dropped). */
const externalReferenceKey = (reference: Item): string | undefined => {
  if (present(reference.url) !== null) return JSON.stringify(["url", reference.url])
  if (present(reference.source_name) !== null && present(reference.external_id) !== null) {
    return JSON.stringify(["source", reference.source_name, reference.external_id])
  }
  return undefined
}

const killChainKey = (phase: Item): string => JSON.stringify([present(phase.kill_chain_name), present(phase.phase_name)])

/** Keeps the first entry of each key; entries without a key (or that are not objects) are dropped. */
const deduplicate = (entries: unknown, keyOf: (entry: Item) => string | undefined): unknown => {
  if (!Array.isArray(entries)) return entries
  const seen = new Set<string>()
  return entries.filter((entry) => {
    const key = isItem(entry) ? keyOf(entry) : undefined
    if (key === undefined || seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/**
 * pycti's `OpenCTIStix2Splitter.split_bundle_with_expectations` (without inconsistent-bundle cleanup):
 * each object of a supported type becomes one bundle, numbered by its dependency count within the
 * bundle. The published objects carry `nb_deps`; their `*_refs` lists keep only followable references
 * (de-duplicated), a `*_ref` that cannot be followed (unsupported type, cycle, self) becomes `null`,
 * and external references and kill chain phases are de-duplicated. The input is not modified.
 */
export const splitBundle = (bundleId: string, objects: ReadonlyArray<StixObject>): SplitResult => {
  // The algorithm rewrites the objects as it walks them, exactly as pycti does; it works on a copy.
  const items = cloneJson(objects) as ReadonlyArray<Item>
  const byId = new Map<string, Item>()
  for (const item of items) {
    byId.set(item.id as string, item)
    for (const id of internalIds(item)) byId.set(id, item)
  }
  const enlisted = new Map<string, Item>()
  const dependencies = new Map<string, Array<string>>()
  const elements: Array<Item> = []

  /** Whether `itemId` may depend on `ref`: a supported id, not on the current path, not itself, not one of its own dependents. */
  const canFollow = (itemId: string, ref: string, path: ReadonlyArray<string>): boolean =>
    isIdSupported(ref) && !path.includes(ref) && ref !== itemId && !(dependencies.get(ref)?.includes(itemId) ?? false)

  const follow = (itemId: string, ref: string, path: ReadonlyArray<string>): number => {
    dependencies.get(itemId)!.push(ref)
    return enlist(ref, [...path, ref])
  }

  const isCompatible = (itemId: string, item: Item): boolean => {
    if (item.type === "relationship") return present(item.source_ref) !== null && present(item.target_ref) !== null
    if (item.type === "sighting") {
      return present(item.sighting_of_ref) !== null && Array.isArray(item.where_sighted_refs) && item.where_sighted_refs.length > 0
    }
    return isIdSupported(itemId)
  }

  const enlist = (itemId: string, path: ReadonlyArray<string>): number => {
    const item = byId.get(itemId)
    if (item === undefined) return 0
    const cached = enlisted.get(itemId)
    if (cached !== undefined) return cached.nb_deps as number
    if (!dependencies.has(itemId)) dependencies.set(itemId, [])
    let count = 1
    for (const key of Object.keys(item)) {
      const value = item[key]
      if (key.endsWith("_refs")) {
        if (!Array.isArray(value)) continue
        const kept: Array<string> = []
        for (const ref of value) {
          if (typeof ref !== "string" || !canFollow(itemId, ref, path)) continue
          count += follow(itemId, ref, path)
          if (!kept.includes(ref)) kept.push(ref)
        }
        item[key] = kept
      } else if (key.endsWith("_ref")) {
        if (typeof value === "string" && canFollow(itemId, value, path)) count += follow(itemId, value, path)
        else item[key] = null
      } else if (key === "external_references") {
        item[key] = deduplicate(value, externalReferenceKey)
      } else if (key === "kill_chain_phases") {
        item[key] = deduplicate(value, killChainKey)
      }
    }
    item.nb_deps = count
    // A cycle can walk an item again inside its own walk: it is listed once, with the outer walk's count.
    if (!enlisted.has(itemId)) {
      if (isCompatible(itemId, item)) elements.push(item)
      enlisted.set(itemId, item)
      for (const id of internalIds(item)) enlisted.set(id, item)
    }
    return count
  }

  for (const item of items) enlist(item.id as string, [])
  // Array sort is stable: objects with as many dependencies keep their order of enlistment.
  const ordered = elements.sort((a, b) => (a.nb_deps as number) - (b.nb_deps as number))
  return {
    bundles: ordered.map((item) => ({
      type: "bundle",
      id: bundleId,
      spec_version: "2.1",
      x_opencti_seq: item.nb_deps as number,
      objects: [item as StixObject]
    })),
    expectations: ordered.length
  }
}
