import { Effect, Result, Schema } from "effect"

/** The commands of the connectors an environment written for the Python images can ask for. */
export type ConnectorCommand = "s3-import" | "stream-export" | "stream-import"

/** The environment asks for no connector, or for several. */
export class ConnectorChoiceError extends Schema.TaggedError<ConnectorChoiceError>()("ConnectorChoiceError", {
  message: Schema.String
}) {}

export interface Choice {
  readonly command: ConnectorCommand
  /** The variables that decided it, as `NAME=value` or `NAME`. */
  readonly reason: string
}

const usage =
  "run one of the commands s3-import, stream-export or stream-import (the container's command), or set " +
  "CONNECTOR_TYPE=STREAM for the stream exporter, S3_BUCKET_NAME for the S3 import, MINIO_SRC_PATH for the stream importer"

/**
 * The connector an environment written for the Python images asks for: those images set
 * CONNECTOR_TYPE themselves (STREAM for the exporter, EXTERNAL_IMPORT for the importers), so their
 * compose files usually lack it, and each connector's own variables tell them apart:
 * CONNECTOR_LIVE_STREAM_ID (stream exporter), S3_BUCKET_NAME (S3 import), MINIO_SRC_PATH or the older
 * MINIO_BUCKET with MINIO_BUCKET_DONE (stream importer). An explicit CONNECTOR_TYPE=STREAM wins.
 */
export const chooseConnector = (env: Record<string, string | undefined>): Result.Result<Choice, ConnectorChoiceError> => {
  const set = (name: string) => (env[name]?.trim() ?? "") !== ""
  const type = env["CONNECTOR_TYPE"]?.trim().toUpperCase() ?? ""
  if (type === "STREAM") return Result.succeed({ command: "stream-export", reason: "CONNECTOR_TYPE=STREAM" })
  if (type !== "" && type !== "EXTERNAL_IMPORT") {
    return Result.fail(new ConnectorChoiceError({ message: `CONNECTOR_TYPE=${type} names no connector of this image: ${usage}` }))
  }
  const candidates: ReadonlyArray<Choice> = [
    ...(type === "" && set("CONNECTOR_LIVE_STREAM_ID") ? [{ command: "stream-export", reason: "CONNECTOR_LIVE_STREAM_ID" } as const] : []),
    ...(set("S3_BUCKET_NAME") ? [{ command: "s3-import", reason: "S3_BUCKET_NAME" } as const] : []),
    ...(set("MINIO_SRC_PATH")
      ? [{ command: "stream-import", reason: "MINIO_SRC_PATH" } as const]
      : set("MINIO_BUCKET") && set("MINIO_BUCKET_DONE")
      ? [{ command: "stream-import", reason: "MINIO_BUCKET and MINIO_BUCKET_DONE" } as const]
      : [])
  ]
  const [only, ...others] = candidates
  if (only === undefined) return Result.fail(new ConnectorChoiceError({ message: `No command given and the environment names no connector: ${usage}` }))
  if (others.length > 0) {
    const named = candidates.map((choice) => `${choice.command} (${choice.reason})`).join(", ")
    return Result.fail(new ConnectorChoiceError({ message: `No command given and the environment fits several connectors, ${named}: ${usage}` }))
  }
  return Result.succeed({ command: only.command, reason: type === "" ? only.reason : `CONNECTOR_TYPE=${type} and ${only.reason}` })
}

/**
 * The command of the connector the variables (the environment over config.yml) ask for among those
 * `available` (this build's), logged. No choice, or one this build does not hold, fails.
 */
export const fromVariables = <K extends string>(
  variables: Record<string, string | undefined>,
  available: Readonly<Record<K, unknown>>
): Effect.Effect<K, ConnectorChoiceError> => {
  const isAvailable = (command: string): command is K => Object.hasOwn(available, command)
  return Effect.fromResult(chooseConnector(variables)).pipe(
    Effect.tap((choice) => Effect.logInfo("Connector chosen from the environment").pipe(Effect.annotateLogs({ command: choice.command, by: choice.reason }))),
    Effect.flatMap(({ command }) =>
      isAvailable(command) ? Effect.succeed(command) : Effect.fail(new ConnectorChoiceError({ message: `${command} is not part of this build: ${usage}` }))
    )
  )
}
