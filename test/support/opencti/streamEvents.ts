import { Predicate } from "effect"
import { formatStreamId, type StreamId } from "./streamIds.js"

export type DataEventTopic = "create" | "update" | "delete" | "merge"

/** An event of the live stream, ready to be written. */
export interface StreamEvent {
  readonly id: StreamId
  readonly topic: DataEventTopic
  /** The `data:` line: single-line JSON. */
  readonly data: string
  /** Inferred knowledge reaches only `with-inferences: true` consumers. */
  readonly inferred: boolean
}

/** An event to put on the stream. */
export interface StreamEventInput {
  /**
   * `<ms>-<seq>`, not before any id before it (equal to the last one: a member of its group); when
   * omitted the stand-in allocates one from its clock.
   */
  readonly id?: string
  readonly event: DataEventTopic
  /** The payload, serialised with `JSON.stringify` (see `platformEvent` for the platform's shape). */
  readonly data: unknown
}

/** A read-only sequence of events in id order. */
export interface EventLog {
  readonly length: number
  at(index: number): StreamEvent
}

export const OPENCTI_EXTENSION = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"

type Stix = Readonly<Record<string, unknown>>

const record = (value: unknown): Readonly<Record<string, unknown>> | undefined =>
  Predicate.isObject(value) ? value : undefined

/** The OpenCTI extension of a STIX object, if any. */
export const openCtiExtension = (stix: Stix): Readonly<Record<string, unknown>> | undefined =>
  record(record(stix["extensions"])?.[OPENCTI_EXTENSION])

/** OpenCTI's entity type of a STIX object ("Vulnerability"), else its STIX type. */
export const entityType = (stix: Stix): string => {
  const type = openCtiExtension(stix)?.["type"]
  return typeof type === "string" ? type : String(stix["type"])
}

export const representative = (stix: Stix): string => {
  const name = stix["name"] ?? stix["abstract"] ?? stix["id"]
  return String(name)
}

/** Whether an event payload carries inferred knowledge (`is_inferred` in the OpenCTI extension). */
export const isInferred = (payload: unknown): boolean => {
  const stix = record(record(payload)?.["data"])
  return stix !== undefined && openCtiExtension(stix)?.["is_inferred"] === true
}

const VERBS: Readonly<Record<DataEventTopic, string>> = {
  create: "creates a",
  update: "updates a",
  delete: "deletes a",
  merge: "merges"
}

/**
 * A data event with the platform's payload: `{version:"4", type, scope:"external", message, origin,
 * data: <STIX>, context?, event_id?}`. `type` may differ from the topic (a "no longer visible"
 * update is sent as `event: delete` with `type: "update"`).
 */
export const platformEvent = (
  event: DataEventTopic,
  stix: Stix,
  options: {
    readonly id?: string
    readonly type?: DataEventTopic
    readonly message?: string
    readonly context?: unknown
  } = {}
): StreamEventInput => ({
  ...(options.id === undefined ? {} : { id: options.id }),
  event,
  data: {
    version: "4",
    type: options.type ?? event,
    scope: "external",
    message: options.message ?? `${VERBS[event]} ${entityType(stix)} \`${representative(stix)}\``,
    origin: { socket: "query", user_id: "88ec0c6a-13ce-5e39-b486-354fe4a7084f" },
    data: stix,
    ...(options.context === undefined ? {} : { context: options.context }),
    ...(options.id === undefined ? {} : { event_id: options.id })
  }
})

const hex12 = (n: number): string => n.toString(16).padStart(12, "0")

/**
 * `count` `create` events of distinct vulnerabilities, `payloadBytes` (default 1 024) of `data` each,
 * ids `<startMs + i>-0`. Events are built on access, so a large log costs no memory.
 */
export const syntheticEvents = (
  count: number,
  options: { readonly startMs?: number; readonly payloadBytes?: number } = {}
): EventLog => {
  const startMs = options.startMs ?? 1_700_000_000_000
  const build = (index: number, padding: string): string => {
    const ms = startMs + index
    const date = new Date(ms).toISOString()
    const name = `CVE-2099-${String(index).padStart(7, "0")}`
    const uuid = `00000000-0000-4000-8000-${hex12(index)}`
    return `{"version":"4","type":"create","scope":"external","message":"creates a Vulnerability \`${name}\`",` +
      `"origin":{"socket":"query","user_id":"88ec0c6a-13ce-5e39-b486-354fe4a7084f"},` +
      `"data":{"id":"vulnerability--${uuid}","spec_version":"2.1","type":"vulnerability","name":"${name}",` +
      `"description":"${padding}","created":"${date}","modified":"${date}",` +
      `"extensions":{"${OPENCTI_EXTENSION}":{"extension_type":"property-extension","id":"${uuid}",` +
      `"type":"Vulnerability","created_at":"${date}","updated_at":"${date}","is_inferred":false}}},` +
      `"event_id":"${formatStreamId({ ms, seq: 0 })}"}`
  }
  const padding = "x".repeat(Math.max(0, (options.payloadBytes ?? 1024) - build(0, "").length))
  return {
    length: count,
    at: (index) => {
      if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`no event at ${index}`)
      return { id: { ms: startMs + index, seq: 0 }, topic: "create", data: build(index, padding), inferred: false }
    }
  }
}
