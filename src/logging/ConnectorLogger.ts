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

const plainValue = (value: unknown): string => typeof value === "string" && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)

/**
 * The same entries as plain text for people reading `docker logs`: time, level, name, message, then
 * the attributes as `key=value`; the cause, when there is one, on the lines that follow.
 */
const plainLogger = (name: string) =>
  Logger.map(Logger.formatStructured, (entry) => {
    const message = typeof entry.message === "string" ? entry.message : JSON.stringify(entry.message)
    const attributes = Object.entries(entry.annotations).map(([key, value]) => ` ${key}=${plainValue(value)}`).join("")
    const line = `${entry.timestamp} ${levelNames[entry.level] ?? entry.level} ${name}: ${message}${attributes}`
    return entry.cause === undefined ? line : `${line}\n${String(entry.cause)}`
  }).pipe(Logger.withConsoleError)

/** Replaces the default logger with the connector's logger (JSON lines, or plain text) and sets the minimum level. */
export const layer = (options: { readonly name: string; readonly level: LogLevel.LogLevel; readonly json: boolean }) =>
  Layer.mergeAll(
    Logger.layer([options.json ? jsonLogger(options.name) : plainLogger(options.name)]),
    Layer.succeed(References.MinimumLogLevel, options.level)
  )
