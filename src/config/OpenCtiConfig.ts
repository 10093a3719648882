import { Context, Effect, Layer, Redacted } from "effect"
import type { LogLevel } from "effect"
import { ConfigurationError, readSettings, Setting } from "./Setting.js"

export type ConnectorType = "EXTERNAL_IMPORT" | "STREAM"
export type QueueProtocol = "amqp" | "api"

const logLevels = { debug: "Debug", info: "Info", warn: "Warn", warning: "Warn", error: "Error" } as const satisfies Record<string, LogLevel.LogLevel>

/** The variables every connector reads, with the defaults of the connector that uses them. */
export const openCtiSettings = (defaults: { readonly name: string; readonly scope: ReadonlyArray<string> }) => ({
  url: Setting.url("OPENCTI_URL"),
  token: Setting.redacted("OPENCTI_TOKEN"),
  connectorId: Setting.string("CONNECTOR_ID", { accepted: "a UUID identifying this connector" }),
  connectorName: Setting.string("CONNECTOR_NAME", { default: defaults.name }),
  scope: Setting.list("CONNECTOR_SCOPE", defaults.scope),
  logLevel: Setting.oneOf("CONNECTOR_LOG_LEVEL", ["debug", "info", "warn", "warning", "error"], "error"),
  runAndTerminate: Setting.boolean("CONNECTOR_RUN_AND_TERMINATE", false),
  queueProtocol: Setting.oneOf("CONNECTOR_QUEUE_PROTOCOL", ["amqp", "api"], "amqp"),
  queryAliasLimit: Setting.integer("OPENCTI_QUERY_ALIAS_LIMIT", { default: 2, min: 1 }),
  exposeMetrics: Setting.boolean("CONNECTOR_EXPOSE_METRICS", false),
  metricsPort: Setting.integer("CONNECTOR_METRICS_PORT", { default: 9095, min: 0, max: 65535 }),
  metricsNamespace: Setting.string("CONNECTOR_METRICS_NAMESPACE", { default: "" }),
  metricsSubsystem: Setting.string("CONNECTOR_METRICS_SUBSYSTEM", { default: "" })
})

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
  readonly exposeMetrics: boolean
  /** The port of the health and metrics server; 0 turns the server off. */
  readonly metricsPort: number
  /** Prefix of every metric name: namespace and subsystem joined with `_`, as pycti does. */
  readonly metricsPrefix: string
}

/** How a connector reaches and identifies itself to the OpenCTI platform. */
export class OpenCtiConfig extends Context.Service<OpenCtiConfig, OpenCtiConfigShape>()("opencti-connectors/config/OpenCtiConfig") {
  static readonly layer = (connector: { readonly type: ConnectorType; readonly name: string; readonly scope: ReadonlyArray<string> }) =>
    Layer.effect(
      OpenCtiConfig,
      Effect.gen(function*() {
        const values = yield* readSettings(openCtiSettings(connector))
        if (Redacted.value(values.token) === "ChangeMe") {
          return yield* new ConfigurationError({ variable: "OPENCTI_TOKEN", message: "OPENCTI_TOKEN is still the placeholder ChangeMe: set the API token of the connector's user" })
        }
        const { metricsNamespace, metricsSubsystem, ...rest } = values
        return OpenCtiConfig.of({
          ...rest,
          metricsPrefix: [metricsNamespace, metricsSubsystem].filter((part) => part.length > 0).join("_"),
          url: values.url.href.replace(/\/+$/, ""),
          connectorType: connector.type,
          logLevel: logLevels[values.logLevel]
        })
      })
    )
}
