import { type Effect, Option, Predicate } from "effect"

/** What the ACI transformation needs to know from the platform, one round trip per kind of look-up. */
export interface AciPlatform<E> {
  /** For each standard id: the platform's x_opencti_modified_at (null when unknown / not set). One round trip. */
  readonly vulnerabilitiesModifiedAt: (
    standardIds: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, string | null>, E>
  /** The subset of these note abstracts for which the platform already has a note. One round trip. */
  readonly existingNoteAbstracts: (abstracts: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, E>
}

/** The file being imported. */
export interface AciSource {
  /** The object key; its last segment names the attachment. */
  readonly key: string
  /** The exact bytes of the object, attached to vulnerabilities when asked to. */
  readonly bytes: Uint8Array
}

export interface AciConfig {
  /** The marking-definition id given to objects without marking and to every generated object. */
  readonly marking: string
  /** The author identity id given to objects without `created_by_ref` and to generated notes and relationships. */
  readonly authorId: Option.Option<string>
  /** Attach the original file to every vulnerability of the bundle. */
  readonly attachOriginalFile: boolean
  readonly source: AciSource
}

/** What objects generated from an ACI object (notes, credits) carry, besides their own fields. */
export interface GeneratedObjectContext {
  readonly marking: string
  readonly authorId: Option.Option<string>
  /** The stix2-formatted instant used for every `created` / `modified` that has no other source. */
  readonly now: string
}

/** A failed look-up, as a log line. */
export const describeError = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && Predicate.isString(error.message) ? error.message : String(error)

/** `created_by_ref` of a generated object: the author when there is one, else no key at all (as stix2 omits it). */
export const createdBy = (authorId: Option.Option<string>): { readonly created_by_ref?: string } =>
  Option.match(authorId, { onNone: () => ({}), onSome: (id) => ({ created_by_ref: id }) })
