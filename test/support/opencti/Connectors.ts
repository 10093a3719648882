import { platformError } from "./errors.js"

/** `config.connection` handed to connectors at registration. */
export interface RabbitMqConnection {
  readonly host: string
  readonly vhost: string
  readonly use_ssl: boolean
  readonly port: number
  readonly user: string
  readonly pass: string
}

export interface ConnectorPing {
  readonly state: string | null | undefined
  readonly connectorInfo: unknown
  readonly at: string
}

/** A registered connector as the stand-in stores it. */
export interface ConnectorRecord {
  readonly id: string
  /** The last registration input. */
  input: RegisterConnectorInput
  name: string
  type: string
  scope: ReadonlyArray<string>
  /** The JSON string last pinged; `""` after a reset, `null` before any ping. */
  state: string | null
  stateReset: boolean
  info: unknown
  readonly createdAt: string
  updatedAt: string
  registrations: number
  readonly pings: Array<ConnectorPing>
}

/** `RegisterConnectorInput` as sent. */
export interface RegisterConnectorInput {
  readonly id: string
  readonly name: string
  readonly type: string
  readonly scope?: ReadonlyArray<string> | null
  readonly auto?: boolean | null
  readonly auto_update?: boolean | null
  readonly enrichment_resolution?: string | null
  readonly only_contextual?: boolean | null
  readonly playbook_compatible?: boolean | null
  readonly listen_callback_uri?: string | null
}

export const noConnector = (id: string) =>
  platformError("FUNCTIONAL_ERROR", "No connector found with the specified ID", { id })

export class Connectors {
  private readonly byId = new Map<string, ConnectorRecord>()

  get all(): ReadonlyArray<ConnectorRecord> {
    return [...this.byId.values()]
  }

  get(id: string): ConnectorRecord | undefined {
    return this.byId.get(id)
  }

  /** Creates the connector, or patches name, type and scope while keeping its state (registration is idempotent). */
  register(input: RegisterConnectorInput): ConnectorRecord {
    const now = new Date().toISOString()
    const existing = this.byId.get(input.id)
    if (existing !== undefined) {
      existing.input = input
      existing.name = input.name
      existing.type = input.type
      existing.scope = input.scope ?? []
      existing.updatedAt = now
      existing.registrations += 1
      return existing
    }
    const created: ConnectorRecord = {
      id: input.id,
      input,
      name: input.name,
      type: input.type,
      scope: input.scope ?? [],
      state: null,
      stateReset: false,
      info: null,
      createdAt: now,
      updatedAt: now,
      registrations: 1,
      pings: []
    }
    this.byId.set(input.id, created)
    return created
  }

  /** A connector known before the run, e.g. with a state saved by an earlier one. */
  seed(input: RegisterConnectorInput & { readonly state?: string | null }): ConnectorRecord {
    const record = this.register(input)
    record.registrations = 0
    record.state = input.state ?? null
    return record
  }

  /** After a reset the next ping only clears the flag, so the connector reads the reset state back. */
  ping(id: string, state: string | null | undefined, connectorInfo: unknown): ConnectorRecord {
    const record = this.byId.get(id)
    if (record === undefined) throw noConnector(id)
    const at = new Date().toISOString()
    record.pings.push({ state, connectorInfo, at })
    if (record.stateReset) {
      record.stateReset = false
    } else {
      record.updatedAt = at
      if (state !== undefined) record.state = state
    }
    if (connectorInfo !== undefined) record.info = connectorInfo
    return record
  }

  /** What "reset the state" in the platform UI does. */
  resetState(id: string): ConnectorRecord {
    const record = this.byId.get(id)
    if (record === undefined) throw noConnector(id)
    record.state = ""
    record.stateReset = true
    return record
  }

  delete(id: string): void {
    if (!this.byId.delete(id)) throw noConnector(id)
  }
}
