import { Metric } from "effect"

/** The import's counters, named as the Python helper names its own where they overlap. */
export const filesListed = Metric.counter("s3_files_listed_total", { description: "Objects found under the prefixes, folder markers excluded", incremental: true })
export const filesImported = Metric.counter("s3_files_imported_total", { description: "Files fully processed (sent, or nothing to send)", incremental: true })
export const filesDeleted = Metric.counter("s3_files_deleted_total", { description: "Files deleted after a confirmed send", incremental: true })
export const filesQuarantined = Metric.counter("s3_files_quarantined_total", { description: "Files moved to the quarantine folder", incremental: true })
export const bytesRead = Metric.counter("s3_bytes_read_total", { description: "Bytes fetched from the bucket", incremental: true })
export const bundlesSent = Metric.counter("bundles_sent_total", { description: "Bundles sent to OpenCTI", incremental: true })
export const errors = Metric.counter("errors_total", { description: "Import cycles stopped by an error", incremental: true })
export const cycles = Metric.counter("runs_total", { description: "Import cycles started", incremental: true })
