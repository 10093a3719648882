import { Schema } from "effect"

/**
 * A live-stream event id: a Redis stream id `<ms>-<seq>`, or `0` / `0-0` for the beginning. The
 * platform resumes a stream strictly after the id it is given.
 */
const pattern = /^\d+(-\d+)?$/

export const LiveStreamId = Schema.String.pipe(Schema.check(Schema.isPattern(pattern)))

/** Whether an event's id is a LiveStreamId: the schema's pattern alone, cheap enough to check on every event. */
export const isLiveStreamId = (id: string): boolean => pattern.test(id)

export const beginning = "0-0"

const parts = (id: string): readonly [number, number] => {
  const [ms = "0", seq = "0"] = id.split("-")
  return [Number(ms), Number(seq)]
}

/** The epoch milliseconds an id stands for (the platform derives ids from event times). */
export const epochMillis = (id: string): number => parts(id)[0]

/** Stream order of two ids. */
export const compare = (a: string, b: string): number => {
  const [msA, seqA] = parts(a)
  const [msB, seqB] = parts(b)
  return msA - msB || seqA - seqB
}

export const earlier = (a: string, b: string): string => (compare(a, b) <= 0 ? a : b)

/**
 * The ids received so far, reduced to what a resume needs: the last id, and the last one before the
 * run of events sharing it. Only these two are kept, not every id: an id is a slice of the text the
 * stream arrived in, and holding it would hold that whole text.
 *
 * The platform gives one id to a whole group of events (the dependencies of an event share its id),
 * and a resume from that id skips whatever of the group has not arrived yet. So the resume point is
 * before the last run of equal ids: a restart may repeat that run, it cannot lose its tail.
 */
export class IdTrail {
  #last: string | undefined = undefined
  #beforeLastRun: string | undefined = undefined

  /** Follows one more id, in stream order. */
  add(id: string): void {
    if (id !== this.#last) {
      this.#beforeLastRun = this.#last
      this.#last = id
    }
  }

  /** The last id followed, if any. */
  get last(): string | undefined {
    return this.#last
  }

  /**
   * Where to resume so that nothing after the ids followed is missed, given what came before them:
   * its resume point, and its last id when there was one. When the ids followed are all one run, that
   * run began before them if `before` ended with the same id, and right after `before.last` otherwise.
   */
  resumePoint(before: { readonly resumePoint: string; readonly last?: string | undefined }): string {
    if (this.#last === undefined) return before.resumePoint
    if (this.#beforeLastRun !== undefined) return earlier(this.#beforeLastRun, this.#last)
    return before.last === this.#last ? before.resumePoint : earlier(before.last ?? before.resumePoint, this.#last)
  }
}
