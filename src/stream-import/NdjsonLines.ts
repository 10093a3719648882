import { Option, Predicate, Stream } from "effect"

/** One line of an NDJSON object: its number (from 1) and its bytes, without the line feed. */
export interface Line {
  readonly number: number
  readonly bytes: Uint8Array
}

const lineFeed = 0x0a

interface Split {
  /** The start of a line whose end has not arrived yet. */
  readonly partial: ReadonlyArray<Uint8Array>
  readonly next: number
}

const join = (parts: ReadonlyArray<Uint8Array>): Uint8Array => (parts.length === 1 ? parts[0]! : Buffer.concat(parts))

/** Splits a stream of bytes into lines, on the bytes themselves: every line keeps its exact bytes. */
export const splitLines = <E, R>(chunks: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Line, E, R> =>
  chunks.pipe(
    Stream.mapAccum((): Split => ({ partial: [], next: 1 }), (split, chunk) => {
      const lines: Array<Line> = []
      let partial = split.partial
      let next = split.next
      let start = 0
      for (let end = chunk.indexOf(lineFeed); end >= 0; end = chunk.indexOf(lineFeed, start)) {
        lines.push({ number: next++, bytes: join([...partial, chunk.subarray(start, end)]) })
        partial = []
        start = end + 1
      }
      if (start < chunk.byteLength) partial = [...partial, chunk.subarray(start)]
      return [{ partial, next }, lines] as const
    }, {
      onHalt: (split) => (split.partial.length === 0 ? [] : [{ number: split.next, bytes: join(split.partial) }])
    })
  )

const blank = /^[ \t\r]*$/

const decoder = new TextDecoder("utf-8", { fatal: true })

/** A line's text, or none for a blank line (skipped, as the exporter never writes one). */
export type ParsedLine = { readonly _tag: "Blank" } | { readonly _tag: "Event"; readonly event: Readonly<Record<string, unknown>> } | { readonly _tag: "Invalid"; readonly reason: string }

/** What a line holds: nothing, an event (a JSON object), or something that cannot be published. */
export const parseLine = (line: Line): ParsedLine => {
  let text: string
  try {
    text = decoder.decode(line.bytes)
  } catch {
    return { _tag: "Invalid", reason: "it is not UTF-8 text" }
  }
  if (blank.test(text)) return { _tag: "Blank" }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { _tag: "Invalid", reason: `it is not JSON (${error instanceof Error ? error.message : String(error)})` }
  }
  return Predicate.isObject(value) && !Array.isArray(value)
    ? { _tag: "Event", event: value as Readonly<Record<string, unknown>> }
    : { _tag: "Invalid", reason: `it is JSON but not an object (${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value})` }
}

/** The fields of an event message that come from the connector, not from the line. */
export interface EventMessageFields {
  readonly perfectSync: boolean
  readonly applicantId: string | null
}

const envelope = (event: Readonly<Record<string, unknown>>, fields: EventMessageFields, content: string) => ({
  type: "event",
  synchronized: fields.perfectSync,
  update: true,
  previous_standard: Option.getOrNull(Option.filter(Option.fromNullishOr(event["previous_standard"]), Predicate.isString)),
  applicant_id: fields.applicantId,
  content
})

/** The size of a line's message, worked out without encoding the line (base64 is 4 bytes per 3). */
export const messageBytes = (line: Line, event: Readonly<Record<string, unknown>>, fields: EventMessageFields): number =>
  Buffer.byteLength(JSON.stringify(envelope(event, fields, ""))) + Math.ceil(line.bytes.byteLength / 3) * 4

/**
 * The body the platform's worker takes for a live-stream event, in the upstream importer's key order:
 * the line itself travels as base64 of its exact bytes.
 */
export const eventMessage = (line: Line, event: Readonly<Record<string, unknown>>, fields: EventMessageFields): Uint8Array =>
  Buffer.from(JSON.stringify(envelope(event, fields, Buffer.from(line.bytes.buffer, line.bytes.byteOffset, line.bytes.byteLength).toString("base64"))), "utf8")
