import { EventSource } from "eventsource"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"

/** A message received by the SSE client; `id` is the client's last event id after it. */
export interface ReceivedMessage {
  readonly type: string
  readonly id: string
  readonly data: string
}

const TYPES = ["connected", "heartbeat", "create", "update", "delete", "merge"]

/** An `eventsource` client on `/stream/<id>` sending the headers pycti sends. */
export const openStream = (
  standIn: OpenCtiStandIn,
  options: {
    readonly streamId?: string
    readonly token?: string
    readonly query?: string
    /** Seeds `Last-Event-ID` for the first connection, as a restarted connector does. */
    readonly lastEventId?: string
    readonly headers?: Readonly<Record<string, string>>
  } = {}
) => {
  const received: Array<ReceivedMessage> = []
  const errors: Array<{ readonly code: number | undefined; readonly message: string | undefined }> = []
  const url = `${standIn.url}/stream/${options.streamId ?? "live"}${options.query ?? ""}`
  const source = new EventSource(url, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: {
          ...(options.lastEventId === undefined ? {} : { "Last-Event-ID": options.lastEventId }),
          ...init.headers,
          Authorization: `Bearer ${options.token ?? standIn.token}`,
          "listen-delete": "true",
          "no-dependencies": "true",
          "with-inferences": "false",
          ...options.headers
        }
      })
  })
  for (const type of TYPES) {
    source.addEventListener(type, (event) => {
      if (event instanceof MessageEvent) received.push({ type, id: event.lastEventId, data: String(event.data) })
    })
  }
  source.addEventListener("error", (event) => errors.push({ code: event.code, message: event.message }))
  const data = () => received.filter((message) => message.type !== "connected" && message.type !== "heartbeat")
  return { source, received, errors, data, close: () => source.close() }
}
