import { Layer, Logger, References } from "effect"
import type { LogLevel } from "effect"

const levelNames: Record<string, string> = { TRACE: "DEBUG", DEBUG: "DEBUG", INFO: "INFO", WARN: "WARNING", ERROR: "ERROR", FATAL: "ERROR" }

/**
 * One JSON object per line on stderr, shaped like pycti's logs: `timestamp`, `level`, `name`, `message`,
 * then `exc_info` (the cause, when there is one) and `attributes` (the log annotations).
 */
const jsonLogger = (name: string) =>
  Logger.map(Logger.formatStructured, (entry) => {
    const line: Record<string, unknown> = {
      timestamp: entry.timestamp,
      level: levelNames[entry.level] ?? entry.level,
      name,
      message: entry.message
    }
    if (entry.cause !== undefined) line["exc_info"] = entry.cause
    if (Object.keys(entry.annotations).length > 0) line["attributes"] = entry.annotations
    return JSON.stringify(line)
  }).pipe(Logger.withConsoleError)

/** Replaces the default logger with the JSON logger and sets the minimum level. */
export const layer = (options: { readonly name: string; readonly level: LogLevel.LogLevel }) =>
  Layer.mergeAll(
    Logger.layer([jsonLogger(options.name)]),
    Layer.succeed(References.MinimumLogLevel, options.level)
  )
