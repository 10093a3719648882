import { Metric } from "effect"

/** The stream importer's metrics, named and labelled (`name` = connector name) as the upstream importer's. */
export const makeImportMetrics = (prefix: string, connectorName: string) => {
  const named = { name: connectorName }
  const nameOf = (name: string) => (prefix === "" ? name : `${prefix}_${name}`)
  const counter = (name: string, description: string) => Metric.withAttributes(Metric.counter(nameOf(name), { description, incremental: true }), named)
  return {
    sentMessages: counter("sent_messages_total", "Events published and confirmed by the broker"),
    sentErrors: counter("sent_errors_total", "Events whose publish failed"),
    readFiles: counter("read_files_total", "Objects read and validated"),
    filesAlreadyProcessed: counter("files_already_processed_total", "Objects found again after their import, moved without sending"),
    up: Metric.withAttributes(Metric.gauge(nameOf("import_up"), { description: "1 while the importer runs" }), named)
  }
}
