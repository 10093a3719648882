/** A Redis stream id `<ms>-<seq>`, the id of every live-stream event. */
export interface StreamId {
  readonly ms: number
  readonly seq: number
}

const BEGINNING: StreamId = { ms: 0, seq: 0 }

const ID = /^(\d+)-(\d+)$/
const ISO_DATE = /^\d{4}-\d{2}-\d{2}/

export const parseStreamId = (text: string): StreamId | undefined => {
  const match = ID.exec(text)
  if (match?.[1] === undefined || match[2] === undefined) return undefined
  return { ms: Number(match[1]), seq: Number(match[2]) }
}

export const formatStreamId = (id: StreamId): string => `${id.ms}-${id.seq}`

export const compareStreamIds = (a: StreamId, b: StreamId): number => a.ms - b.ms || a.seq - b.seq

const parseDate = (text: string): number | undefined => {
  if (!ISO_DATE.test(text)) return undefined
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * `convertParameterToStreamId`: `0` / `0-0` is the beginning, `<ms>-<seq>` is used as is (reading
 * resumes strictly after it), an ISO date is `<ms>-0`; anything else means "live" (undefined).
 * A bare millisecond number is not a date for the platform, hence live as well.
 */
export const startFromParameter = (parameter: string | undefined): StreamId | undefined => {
  if (parameter === undefined) return undefined
  if (parameter === "0" || parameter === "0-0") return BEGINNING
  const id = parseStreamId(parameter)
  if (id !== undefined) return id
  const ms = parseDate(parameter)
  return ms === undefined ? undefined : { ms, seq: 0 }
}

/** `convertParameterToDate` in milliseconds: the ms part of an id, or a parsed ISO date. */
export const dateFromParameter = (parameter: string): number | undefined => {
  if (parameter === "0" || parameter === "0-0") return 0
  return parseStreamId(parameter)?.ms ?? parseDate(parameter)
}
