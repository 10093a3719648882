import { hash } from "node:crypto"
import { IdTrail } from "../opencti/LiveStreamId.js"

/**
 * The most objects of one run of equal ids remembered. A run is one event's dependencies, or the
 * objects of a recovery snapshot updated in the same millisecond: a few in general, thousands for a
 * large report. Past this bound, the members not remembered may be written again after a restart.
 */
export const maxRunObjects = 10_000

/**
 * An event's object as saved in the state: 72 bits of the SHA-256 of its STIX id, 12 base64url
 * characters. A fresh string, so remembering it holds none of the stream's text.
 */
export const objectDigest = (object: string): string => hash("sha256", object, "base64url").slice(0, 12)

/**
 * The events followed so far, reduced to what a resume and the once-only rule need: the ids of an
 * IdTrail, and the objects of the last run of equal ids. The platform gives one id to a group (an
 * event and its dependencies, a snapshot's objects updated in one millisecond) and resumes strictly
 * after an id, so a resume goes before the last run and the platform sends that run again: its members
 * already followed are recognised by id and object, and only they.
 *
 * Most events start a run of their own: the first object of a run is held as it is and digested only
 * when the run is saved, so telling most events apart costs no digest. The other members of a run, and
 * those of a run restored from a saved state, are held by digest, which holds none of the stream's text.
 */
export class EventTrail {
  readonly #ids = new IdTrail()
  /** The first object of the last run, when this trail saw the run begin. */
  #first: string | undefined = undefined
  /** The digests of the other objects of the last run. */
  readonly #others = new Set<string>()

  /** The trail that goes on from a run already written: `last` and the digests of its objects. */
  static after(last: string | undefined, digests: Iterable<string>): EventTrail {
    const trail = new EventTrail()
    if (last !== undefined) {
      trail.#ids.add(last)
      for (const digest of digests) trail.#others.add(digest)
    }
    return trail
  }

  /**
   * Follows an event; false when this event was followed already: the same id as the last run and an
   * object of that run. Only the last run is compared: ids before it are never sent again.
   */
  add(id: string, object: string): boolean {
    if (id !== this.#ids.last) {
      this.#ids.add(id)
      this.#first = object
      // Clearing a set allocates its table anew: an empty one is left as it is.
      if (this.#others.size > 0) this.#others.clear()
      return true
    }
    if (object === this.#first) return false
    const digest = objectDigest(object)
    if (this.#others.has(digest)) return false
    if ((this.#first === undefined ? 0 : 1) + this.#others.size < maxRunObjects) this.#others.add(digest)
    return true
  }

  /** The last id followed, if any. */
  get last(): string | undefined {
    return this.#ids.last
  }

  /** The digests of the objects of the last run remembered, in the order followed. */
  get runObjects(): ReadonlyArray<string> {
    return this.#first === undefined ? [...this.#others] : [objectDigest(this.#first), ...this.#others]
  }

  /** See IdTrail.resumePoint. */
  resumePoint(before: { readonly resumePoint: string; readonly last?: string | undefined }): string {
    return this.#ids.resumePoint(before)
  }
}
