import { Context, Effect, Layer, Option, Predicate, Redacted } from "effect"
import { readFile } from "node:fs/promises"
import { ConfigurationError, readSettings, Setting } from "../config/Setting.js"
import type { AmqpEndpoint, BrokerConnection } from "./AmqpEndpoint.js"

/**
 * pycti's `MQ_*` variables: each overrides the matching field of the connection the platform returns
 * at registration; the TLS ones apply when the connection uses TLS.
 */
export const amqpSettings = {
  host: Setting.optionalString("MQ_HOST"),
  port: Setting.optionalInteger("MQ_PORT", 1),
  vhost: Setting.optionalString("MQ_VHOST"),
  useSsl: Setting.optionalBoolean("MQ_USE_SSL"),
  user: Setting.optionalString("MQ_USER"),
  pass: Setting.optionalRedacted("MQ_PASS"),
  sslCa: Setting.optionalString("MQ_USE_SSL_CA"),
  sslCert: Setting.optionalString("MQ_USE_SSL_CERT"),
  sslKey: Setting.optionalRedacted("MQ_USE_SSL_KEY"),
  sslPassphrase: Setting.optionalRedacted("MQ_USE_SSL_PASSPHRASE"),
  sslRejectUnauthorized: Setting.boolean("MQ_USE_SSL_REJECT_UNAUTHORIZED", false)
}

export interface AmqpConfigShape {
  readonly host: Option.Option<string>
  readonly port: Option.Option<number>
  readonly vhost: Option.Option<string>
  readonly useSsl: Option.Option<boolean>
  readonly user: Option.Option<string>
  readonly pass: Option.Option<Redacted.Redacted<string>>
  /** PEM text, read from the file when the variable names one. */
  readonly sslCa: Option.Option<string>
  readonly sslCert: Option.Option<string>
  readonly sslKey: Option.Option<Redacted.Redacted<string>>
  readonly sslPassphrase: Option.Option<Redacted.Redacted<string>>
  readonly sslRejectUnauthorized: boolean
}

/**
 * As in pycti, a value that starts like PEM is the PEM itself; anything else is the path of a PEM file.
 * The error for a secret names neither the value nor the path: a key pasted without its PEM header
 * would otherwise end up in the log.
 */
const pem = (variable: string, value: string, secret: boolean): Effect.Effect<string, ConfigurationError> =>
  value.startsWith("-----BEGIN")
    ? Effect.succeed(value)
    : Effect.tryPromise({
      try: () => readFile(value, "utf8"),
      catch: (cause) =>
        new ConfigurationError({
          variable,
          message: secret
            ? `${variable} is neither PEM text (-----BEGIN ...) nor the path of a readable PEM file (${Predicate.hasProperty(cause, "code") ? String(cause.code) : "unreadable"})`
            : `${variable}: cannot read the PEM file ${value}: ${String(cause)}`
        })
    })

const pemOption = (variable: string, value: Option.Option<string>, secret = false) =>
  Option.match(value, { onNone: () => Effect.succeedNone, onSome: (text) => Effect.asSome(pem(variable, text, secret)) })

/** The broker the connector publishes to: the registration's connection with the `MQ_*` overrides applied. */
export const resolveEndpoint = (connection: BrokerConnection, config: AmqpConfigShape): AmqpEndpoint => ({
  host: Option.getOrElse(config.host, () => connection.host),
  port: Option.getOrElse(config.port, () => connection.port),
  vhost: Option.getOrElse(config.vhost, () => connection.vhost),
  user: Option.getOrElse(config.user, () => connection.user),
  pass: Option.getOrElse(config.pass, () => Redacted.make(connection.pass)),
  tls: Option.getOrElse(config.useSsl, () => connection.useSsl)
    ? Option.some({
      ca: config.sslCa,
      cert: config.sslCert,
      key: config.sslKey,
      passphrase: config.sslPassphrase,
      rejectUnauthorized: config.sslRejectUnauthorized
    })
    : Option.none()
})

export class AmqpConfig extends Context.Service<AmqpConfig, AmqpConfigShape>()("opencti-connectors/amqp/AmqpConfig") {
  static readonly layer = Layer.effect(
    AmqpConfig,
    Effect.gen(function*() {
      const values = yield* readSettings(amqpSettings)
      const sslCa = yield* pemOption(amqpSettings.sslCa.name, values.sslCa)
      const sslCert = yield* pemOption(amqpSettings.sslCert.name, values.sslCert)
      const sslKey = yield* pemOption(amqpSettings.sslKey.name, Option.map(values.sslKey, Redacted.value), true)
      return AmqpConfig.of({ ...values, sslCa, sslCert, sslKey: Option.map(sslKey, (key) => Redacted.make(key)) })
    })
  )
}
