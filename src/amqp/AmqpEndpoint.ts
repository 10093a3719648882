import type { Option, Redacted } from "effect"

/** The broker connection the platform hands a connector at registration. */
export interface BrokerConnection {
  readonly host: string
  readonly vhost: string
  readonly useSsl: boolean
  readonly port: number
  readonly user: string
  readonly pass: string
}

/** TLS settings of an `amqps` connection (pycti's `MQ_USE_SSL_*`). */
export interface AmqpTls {
  readonly ca: Option.Option<string>
  readonly cert: Option.Option<string>
  readonly key: Option.Option<Redacted.Redacted<string>>
  readonly passphrase: Option.Option<Redacted.Redacted<string>>
  readonly rejectUnauthorized: boolean
}

/** Where and as whom to connect; `tls` is present for an `amqps` connection. */
export interface AmqpEndpoint {
  readonly host: string
  readonly port: number
  readonly vhost: string
  readonly user: string
  readonly pass: Redacted.Redacted<string>
  readonly tls: Option.Option<AmqpTls>
}
