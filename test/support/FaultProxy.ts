import { createServer, connect } from "node:net"
import type { AddressInfo, Socket } from "node:net"

/**
 * What the proxy does to the traffic once a fault is active:
 * - `Latency`: every chunk, both ways, is held `ms` milliseconds;
 * - `Stall`: after `afterBytes` bytes of answer on a connection, nothing more passes either way, and
 *   the connection stays open (a hung server, or a body that stops mid-way);
 * - `Reset`: after `afterBytes` bytes of answer, the connection to the client is reset (RST);
 * - `Refuse`: the proxy stops listening (connections are refused) and resets the open ones.
 */
export type Fault =
  | { readonly _tag: "Latency"; readonly ms: number }
  | { readonly _tag: "Stall"; readonly afterBytes: number }
  | { readonly _tag: "Reset"; readonly afterBytes: number }
  | { readonly _tag: "Refuse" }

export const Fault = {
  latency: (ms: number): Fault => ({ _tag: "Latency", ms }),
  stall: (afterBytes = 0): Fault => ({ _tag: "Stall", afterBytes }),
  reset: (afterBytes = 0): Fault => ({ _tag: "Reset", afterBytes }),
  refuse: { _tag: "Refuse" } as Fault
}

export interface InjectOptions {
  /**
   * The fault acts only on the connection of the first request whose bytes (since the last answer on
   * its connection, read as latin1) match, from that request on; the other connections pass. Without
   * it, the fault acts at once on every connection, open or new.
   */
  readonly when?: RegExp
}

/** A TCP proxy on 127.0.0.1 in front of one server, with faults injected on demand. */
export interface FaultProxy {
  readonly host: string
  readonly port: number
  /** `http://host:port` */
  readonly url: string
  /** Arms `fault`; the promise resolves once it is active. A fault replaces the one before it. */
  inject(fault: Fault, options?: InjectOptions): Promise<void>
  /** Clears the fault: stalled connections go on with what they held, a refusing proxy listens again. */
  heal(): Promise<void>
  /** Connections accepted so far. */
  readonly connections: number
  close(): Promise<void>
}

const HOST = "127.0.0.1"
const MAX_REQUEST_TEXT = 16 * 1024 * 1024

interface Link {
  readonly client: Socket
  readonly upstream: Socket
  /** A fault of this connection alone (started by a matching request). */
  fault: Fault | undefined
  /** Answer bytes passed since the fault became active. */
  answered: number
  /** Request bytes since the last answer, for `when`. */
  requestText: string
  stalled: boolean
  /** What a stall holds, in order (`null` is the end of a side). */
  readonly held: Array<{ readonly to: Socket; readonly chunk: Buffer | null }>
}

const deliver = (to: Socket, chunk: Buffer | null): void => {
  if (to.destroyed) return
  if (chunk === null) to.end()
  else to.write(chunk)
}

const listen = (server: ReturnType<typeof createServer>, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, HOST, () => {
      server.off("error", reject)
      resolve((server.address() as AddressInfo).port)
    })
  })

/** Starts a proxy to `target` on a free port. */
export const startFaultProxy = async (target: { readonly host: string; readonly port: number }): Promise<FaultProxy> => {
  const links = new Set<Link>()
  let active: Fault | undefined
  let armed: { readonly fault: Fault; readonly when: RegExp; readonly activated: () => void } | undefined
  let accepted = 0
  let listening = true

  const server = createServer((client) => {
    accepted += 1
    const upstream = connect({ host: target.host, port: target.port })
    const link: Link = { client, upstream, fault: undefined, answered: 0, requestText: "", stalled: false, held: [] }
    links.add(link)
    const closeBoth = () => {
      links.delete(link)
      client.destroy()
      upstream.destroy()
    }
    client.on("error", closeBoth)
    upstream.on("error", () => {
      if (!link.stalled) client.resetAndDestroy()
      upstream.destroy()
    })
    client.on("close", closeBoth)
    upstream.on("close", () => {
      if (!link.stalled) closeBoth()
    })
    client.on("data", (chunk: Buffer) => {
      if (armed !== undefined && link.requestText.length < MAX_REQUEST_TEXT) {
        link.requestText += chunk.toString("latin1")
        if (armed.when.test(link.requestText)) {
          const { fault, activated } = armed
          armed = undefined
          link.fault = fault
          link.answered = 0
          if (fault._tag === "Refuse") refuse()
          activated()
        }
      }
      send(link, "request", chunk)
    })
    client.on("end", () => send(link, "request", null))
    upstream.on("data", (chunk: Buffer) => {
      link.requestText = ""
      send(link, "answer", chunk)
    })
    upstream.on("end", () => send(link, "answer", null))
  })

  const send = (link: Link, direction: "request" | "answer", chunk: Buffer | null): void => {
    const to = direction === "answer" ? link.client : link.upstream
    if (link.stalled) {
      link.held.push({ to, chunk })
      return
    }
    const fault = link.fault ?? active
    if (fault?._tag === "Latency") {
      setTimeout(() => deliver(to, chunk), fault.ms)
      return
    }
    // Stalls and resets act on the bytes of the answers.
    if (fault === undefined || fault._tag === "Refuse" || direction === "request" || chunk === null) return deliver(to, chunk)
    const allowed = Math.max(0, fault.afterBytes - link.answered)
    if (chunk.length <= allowed) {
      link.answered += chunk.length
      return deliver(to, chunk)
    }
    link.answered += allowed
    if (fault._tag === "Reset") {
      if (allowed === 0) link.client.resetAndDestroy()
      else link.client.write(chunk.subarray(0, allowed), () => link.client.resetAndDestroy())
      link.upstream.destroy()
      return
    }
    if (allowed > 0) deliver(to, chunk.subarray(0, allowed))
    link.stalled = true
    link.held.push({ to, chunk: chunk.subarray(allowed) })
  }

  const refuse = (): void => {
    if (!listening) return
    listening = false
    server.close()
    for (const link of links) {
      link.client.resetAndDestroy()
      link.upstream.destroy()
    }
  }

  const port = await listen(server, 0)

  return {
    host: HOST,
    port,
    url: `http://${HOST}:${port}`,
    inject: (fault, options = {}) =>
      new Promise<void>((resolve) => {
        if (options.when !== undefined) {
          armed = { fault, when: options.when, activated: resolve }
          return
        }
        armed = undefined
        active = fault
        for (const link of links) link.answered = 0
        if (fault._tag === "Refuse") refuse()
        resolve()
      }),
    heal: async () => {
      armed = undefined
      active = undefined
      for (const link of links) {
        link.fault = undefined
        link.stalled = false
        for (const { to, chunk } of link.held.splice(0)) deliver(to, chunk)
      }
      if (!listening) {
        await listen(server, port)
        listening = true
      }
    },
    get connections() {
      return accepted
    },
    close: async () => {
      armed = undefined
      for (const link of links) {
        link.client.destroy()
        link.upstream.destroy()
      }
      if (listening) await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** The host and port of an `http://host:port` URL, as a proxy target. */
export const targetOf = (url: string): { readonly host: string; readonly port: number } => {
  const { hostname, port } = new URL(url)
  return { host: hostname, port: Number(port) }
}
