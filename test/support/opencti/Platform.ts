import { randomUUID } from "node:crypto"
import { BundlePushes } from "./BundlePushes.js"
import { Connectors, type RabbitMqConnection } from "./Connectors.js"
import { Knowledge } from "./Knowledge.js"
import { Works } from "./Works.js"

/** Everything the GraphQL API of the stand-in reads and writes. */
export interface Platform {
  /** `about { version }`. */
  readonly version: string
  /** Internal id of the token's user, returned as `connector_user_id`. */
  readonly userId: string
  readonly rabbitmq: RabbitMqConnection
  readonly connectors: Connectors
  readonly works: Works
  readonly knowledge: Knowledge
  readonly pushes: BundlePushes
}

export interface PlatformOptions {
  readonly version?: string
  readonly userId?: string
  /** Merged over the defaults 127.0.0.1:5672, vhost "/", guest/guest, no TLS. */
  readonly rabbitmq?: Partial<RabbitMqConnection>
}

export const makePlatform = (options: PlatformOptions = {}): Platform => ({
  version: options.version ?? "6.8.14",
  userId: options.userId ?? randomUUID(),
  rabbitmq: {
    host: "127.0.0.1",
    vhost: "/",
    use_ssl: false,
    port: 5672,
    user: "guest",
    pass: "guest",
    ...options.rabbitmq
  },
  connectors: new Connectors(),
  works: new Works(),
  knowledge: new Knowledge(),
  pushes: new BundlePushes()
})
