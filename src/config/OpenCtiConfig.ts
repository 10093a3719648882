import { Context, Effect, Layer, Option, Redacted } from "effect"
import type { Duration, LogLevel } from "effect"
import { readFile } from "node:fs/promises"
import { ConfigurationError, invalid, readSettings, Setting } from "./Setting.js"

export type ConnectorType = "EXTERNAL_IMPORT" | "STREAM"
export type QueueProtocol = "amqp" | "api"

const logLevels = { debug: "Debug", info: "Info", warn: "Warn", warning: "Warn", error: "Error" } as const satisfies Record<string, LogLevel.LogLevel>

/** What a connector's defaults differ in; the log level is pycti's `error` unless the connector says otherwise. */
export interface ConnectorDefaults {
  readonly name: string
  readonly scope: ReadonlyArray<string>
  readonly logLevel?: keyof typeof logLevels
}

/** The variables every connector reads, with the defaults of the connector that uses them. */
export const openCtiSettings = (defaults: ConnectorDefaults) => ({
  url: Setting.url("OPENCTI_URL"),
  token: Setting.redacted("OPENCTI_TOKEN"),
  connectorId: Setting.uuid("CONNECTOR_ID", "a UUID identifying this connector, such as 2f0c7a3e-6d1b-4c55-9f3e-0a8e4c1d2b3a"),
  connectorName: Setting.string("CONNECTOR_NAME", { default: defaults.name }),
  scope: Setting.list("CONNECTOR_SCOPE", defaults.scope),
  logLevel: Setting.oneOf("CONNECTOR_LOG_LEVEL", ["debug", "info", "warn", "warning", "error"], defaults.logLevel ?? "error"),
  runAndTerminate: Setting.boolean("CONNECTOR_RUN_AND_TERMINATE", false),
  queueProtocol: Setting.oneOf("CONNECTOR_QUEUE_PROTOCOL", ["amqp", "api"], "amqp"),
  queryAliasLimit: Setting.integer("OPENCTI_QUERY_ALIAS_LIMIT", { default: 2, min: 1 }),
  requestTimeout: Setting.seconds("OPENCTI_REQUEST_TIMEOUT_SEC", 300),
  shutdownTimeout: Setting.seconds("CONNECTOR_SHUTDOWN_TIMEOUT_SEC", 8),
  exposeHealth: Setting.boolean("CONNECTOR_EXPOSE_HEALTH", false),
  exposeMetrics: Setting.boolean("CONNECTOR_EXPOSE_METRICS", false),
  metricsPort: Setting.integer("CONNECTOR_METRICS_PORT", { default: 9095, min: 0, max: 65535 }),
  metricsNamespace: Setting.string("CONNECTOR_METRICS_NAMESPACE", { default: "" }),
  metricsSubsystem: Setting.string("CONNECTOR_METRICS_SUBSYSTEM", { default: "" }),
  sslVerify: Setting.booleanOrText("OPENCTI_SSL_VERIFY", true, "the path of a PEM CA bundle"),
  // Redacted: gateways in front of the platform are often opened with a key in a header.
  customHeaders: Setting.optionalRedacted("OPENCTI_CUSTOM_HEADERS"),
  jsonLogging: Setting.boolean("OPENCTI_JSON_LOGGING", true)
})

/** How the platform's TLS certificate is checked: against the system CAs, not at all, or against a CA bundle. */
export type TlsVerification =
  | { readonly _tag: "SystemCas" }
  | { readonly _tag: "Off" }
  | { readonly _tag: "CaBundle"; readonly path: string; readonly pem: string }

const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * `OPENCTI_CUSTOM_HEADERS` as pycti reads it: pairs split on `;`, each on its first `:`, both sides
 * trimmed, empty pairs ignored. A pair without `:` or with a name or value HTTP cannot carry is
 * malformed: its position (from 1) is returned, never its text, which may hold a secret.
 */
export const parseCustomHeaders = (text: string): { readonly headers: Readonly<Record<string, string>>; readonly malformed: ReadonlyArray<number> } => {
  const headers: Record<string, string> = {}
  const malformed: Array<number> = []
  text.split(";").forEach((pair, index) => {
    if (pair.trim() === "") return
    const colon = pair.indexOf(":")
    const name = pair.slice(0, colon).trim()
    const value = pair.slice(colon + 1).trim()
    if (colon < 0 || !headerName.test(name) || !headerValue.test(value)) malformed.push(index + 1)
    else headers[name] = value
  })
  return { headers, malformed }
}

const readCustomHeaders = (text: Option.Option<string>) =>
  Effect.gen(function*() {
    if (Option.isNone(text)) return {}
    const { headers, malformed } = parseCustomHeaders(text.value)
    for (const position of malformed) {
      yield* Effect.logWarning("Ignored invalid header pair of OPENCTI_CUSTOM_HEADERS: expected name:value").pipe(Effect.annotateLogs({ pair: position }))
    }
    return headers
  })

const readTlsVerification = (value: boolean | string): Effect.Effect<TlsVerification, ConfigurationError> => {
  if (value === true) return Effect.succeed({ _tag: "SystemCas" })
  if (value === false) return Effect.succeed({ _tag: "Off" })
  const accepted = "true, false, or the path of a readable PEM CA bundle"
  return Effect.tryPromise({ try: () => readFile(value, "utf8"), catch: (cause) => cause }).pipe(
    Effect.mapError((cause) => invalid("OPENCTI_SSL_VERIFY", value, `${accepted} (${cause instanceof Error ? cause.message : String(cause)})`)),
    Effect.filterOrFail((pem) => pem.includes("-----BEGIN CERTIFICATE-----"), () => invalid("OPENCTI_SSL_VERIFY", value, `${accepted} (the file holds no PEM certificate)`)),
    Effect.map((pem): TlsVerification => ({ _tag: "CaBundle", path: value, pem }))
  )
}

export interface OpenCtiConfigShape {
  /** The platform's base URL without a trailing slash. */
  readonly url: string
  readonly token: Redacted.Redacted<string>
  readonly connectorId: string
  readonly connectorName: string
  readonly connectorType: ConnectorType
  readonly scope: ReadonlyArray<string>
  readonly logLevel: LogLevel.LogLevel
  readonly runAndTerminate: boolean
  readonly queueProtocol: QueueProtocol
  /** How many times one query field may appear in a document: the platform's batching protection (default 2). */
  readonly queryAliasLimit: number
  /** The longest an attempt of a platform request (GraphQL or file download) may take, body included. */
  readonly requestTimeout: Duration.Duration
  /** The longest a stop asked for by SIGTERM or SIGINT may take before the process exits 1. */
  readonly shutdownTimeout: Duration.Duration
  /** Serve `/healthz` and `/readyz` even without metrics. */
  readonly exposeHealth: boolean
  readonly exposeMetrics: boolean
  /** The port of the health and metrics server, when either is exposed; 0 turns the server off. */
  readonly metricsPort: number
  /** Prefix of every metric name: namespace and subsystem joined with `_`, as pycti does. */
  readonly metricsPrefix: string
  readonly tls: TlsVerification
  /** Sent with every request to the platform: GraphQL, file downloads and the live stream. */
  readonly customHeaders: Readonly<Record<string, string>>
  /** JSON log lines (pycti's shape); plain text lines otherwise. */
  readonly jsonLogging: boolean
}

/** How a connector reaches and identifies itself to the OpenCTI platform. */
export class OpenCtiConfig extends Context.Service<OpenCtiConfig, OpenCtiConfigShape>()("opencti-connectors/config/OpenCtiConfig") {
  static readonly layer = (connector: ConnectorDefaults & { readonly type: ConnectorType }) =>
    Layer.effect(
      OpenCtiConfig,
      Effect.gen(function*() {
        const values = yield* readSettings(openCtiSettings(connector))
        if (Redacted.value(values.token) === "ChangeMe") {
          return yield* new ConfigurationError({ variable: "OPENCTI_TOKEN", message: "OPENCTI_TOKEN is still the placeholder ChangeMe: set the API token of the connector's user" })
        }
        const { metricsNamespace, metricsSubsystem, sslVerify, customHeaders, ...rest } = values
        return OpenCtiConfig.of({
          ...rest,
          tls: yield* readTlsVerification(sslVerify),
          customHeaders: yield* readCustomHeaders(Option.map(customHeaders, Redacted.value)),
          metricsPrefix: [metricsNamespace, metricsSubsystem].filter((part) => part.length > 0).join("_"),
          url: values.url.href.replace(/\/+$/, ""),
          connectorType: connector.type,
          logLevel: logLevels[values.logLevel]
        })
      })
    )
}
