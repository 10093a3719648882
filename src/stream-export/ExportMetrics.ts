import { DateTime, Effect, Metric, Option } from "effect"
import { epochMillis } from "../opencti/LiveStreamId.js"
import type { ExportCursor } from "./ExportCursor.js"
import type { ExportLine } from "./ExportLine.js"

const processedMessages = Metric.counter("processed_messages_total", { description: "Live stream events exported, by action", incremental: true })
const writtenFiles = Metric.counter("written_files_total", { description: "Objects written", incremental: true })
const writeErrors = Metric.counter("write_errors_total", { description: "Objects that could not be written", incremental: true })
const currentState = Metric.gauge("current_state", { description: "Time (epoch ms) of the last event consumed" })
const lastWrittenState = Metric.gauge("last_written_state", { description: "Time (epoch ms) of the last event written" })
const recoverUntilState = Metric.gauge("recover_until_state", { description: "Recover-until date of the stream (epoch ms)" })

/** The stream exporter's metrics, named and labelled (`name` = connector name) as the reference exporter's. */
export const makeExportMetrics = (connectorName: string) => {
  const named = { name: connectorName }
  const lastWritten = Metric.withAttributes(lastWrittenState, named)
  const recoverUntil = Metric.withAttributes(recoverUntilState, named)
  const current = Metric.withAttributes(currentState, named)
  const processedFor = (action: string) => Metric.withAttributes(processedMessages, { ...named, action })
  // One series per action (the few SSE event names), made once rather than for every chunk of events.
  const processedByAction = new Map<string, ReturnType<typeof processedFor>>()
  const processedOf = (action: string) => {
    const known = processedByAction.get(action)
    if (known !== undefined) return known
    const made = processedFor(action)
    processedByAction.set(action, made)
    return made
  }
  return {
    /** Events exported: counted by action, and the current position. */
    processed: (lines: ReadonlyArray<ExportLine>) => {
      const byAction = new Map<string, number>()
      for (const line of lines) byAction.set(line.action, (byAction.get(line.action) ?? 0) + 1)
      const last = lines.at(-1)
      return Effect.all([
        ...[...byAction].map(([action, count]) => Metric.update(processedOf(action), count)),
        last === undefined ? Effect.void : Metric.update(current, epochMillis(last.id))
      ], { discard: true })
    },
    written: Metric.update(Metric.withAttributes(writtenFiles, named), 1),
    writeFailed: Metric.update(Metric.withAttributes(writeErrors, named), 1),
    /** The gauges of a committed (or loaded) cursor. */
    cursor: (cursor: ExportCursor) =>
      Effect.all([
        Option.match(cursor.lastWrittenMsgId, { onNone: () => Effect.void, onSome: (id) => Metric.update(lastWritten, epochMillis(id)) }),
        Option.match(cursor.recoverUntil === false ? Option.none() : DateTime.make(cursor.recoverUntil), {
          onNone: () => Effect.void,
          onSome: (date) => Metric.update(recoverUntil, DateTime.toEpochMillis(date))
        })
      ], { discard: true })
  }
}

export type ExportMetrics = ReturnType<typeof makeExportMetrics>
