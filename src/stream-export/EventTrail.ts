import { hash } from "node:crypto"
import { IdTrail } from "../opencti/LiveStreamId.js"

/**
 * The most objects of one run of equal ids remembered. A run is one event's dependencies, or the
 * objects of a recovery snapshot updated in the same millisecond: a few in general, thousands for a
 * large report. Past this bound, the members not remembered may be written again after a restart.
 */
export const maxRunObjects = 10_000

/**
 * An event's object as remembered: 72 bits of the SHA-256 of its STIX id, 12 base64url characters. A
 * fresh string, so remembering it holds none of the stream's text.
 */
export const objectDigest = (object: string): string => hash("sha256", object, "base64url").slice(0, 12)

/**
 * The events followed so far, reduced to what a resume and the once-only rule need: the ids of an
 * IdTrail, and the digests of the objects of the last run of equal ids. The platform gives one id to a
 * group (an event and its dependencies, a snapshot's objects updated in one millisecond) and resumes
 * strictly after an id, so a resume goes before the last run and the platform sends that run again:
 * its members already followed are recognised by id and object, and only they.
 */
export class EventTrail {
  readonly #ids = new IdTrail()
  #run = new Set<string>()

  /** The trail that goes on from a run already written: `last` and the digests of its objects. */
  static after(last: string | undefined, objects: Iterable<string>): EventTrail {
    const trail = new EventTrail()
    if (last !== undefined) {
      trail.#ids.add(last)
      trail.#run = new Set(objects)
    }
    return trail
  }

  /**
   * Follows an event; false when this event was followed already: the same id as the last run and an
   * object of that run. Only the last run is compared: ids before it are never sent again.
   */
  add(id: string, object: string): boolean {
    const digest = objectDigest(object)
    if (id === this.#ids.last) {
      if (this.#run.has(digest)) return false
    } else {
      this.#ids.add(id)
      this.#run = new Set()
    }
    if (this.#run.size < maxRunObjects) this.#run.add(digest)
    return true
  }

  /** The last id followed, if any. */
  get last(): string | undefined {
    return this.#ids.last
  }

  /** The digests of the objects of the last run remembered, in the order followed. */
  get runObjects(): ReadonlyArray<string> {
    return [...this.#run]
  }

  /** Whether the object of `digest` is remembered in the last run. */
  hasInRun(digest: string): boolean {
    return this.#run.has(digest)
  }

  /** See IdTrail.resumePoint. */
  resumePoint(before: { readonly resumePoint: string; readonly last?: string | undefined }): string {
    return this.#ids.resumePoint(before)
  }
}
