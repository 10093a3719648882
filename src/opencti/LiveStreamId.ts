import { Schema } from "effect"

/**
 * A live-stream event id: a Redis stream id `<ms>-<seq>`, or `0` / `0-0` for the beginning. The
 * platform resumes a stream strictly after the id it is given.
 */
export const LiveStreamId = Schema.String.pipe(Schema.check(Schema.isPattern(/^\d+(-\d+)?$/)))

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
 * Where to resume so that nothing after `ids` is missed, given the resume point `previous` before them.
 *
 * The platform gives one id to a whole group of events (the dependencies of an event share its id),
 * and a resume from that id skips whatever of the group has not arrived yet. So the resume point is
 * before the last run of equal ids: a restart may repeat that run, it cannot lose its tail.
 */
export const resumePoint = (previous: string, ids: ReadonlyArray<string>): string => {
  const last = ids.at(-1)
  if (last === undefined) return previous
  let index = ids.length - 1
  while (index >= 0 && ids[index] === last) index--
  return earlier(ids[index] ?? previous, last)
}
