import { Effect } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { createProxy } from "proxy"

/** A real forward proxy (the `proxy` package: CONNECT tunnels and plain forwarding) on 127.0.0.1. */
export interface ForwardProxy {
  /** `http://127.0.0.1:<port>`, for HTTP_PROXY / HTTPS_PROXY. */
  readonly url: string
  /** The targets of CONNECT tunnels (`host:port`), in order. */
  readonly tunnels: ReadonlyArray<string>
  /** The absolute URLs of the requests it forwarded without a tunnel, in order. */
  readonly forwarded: ReadonlyArray<string>
}

/** The proxy for the enclosing scope. */
export const forwardProxyScoped = Effect.acquireRelease(
  Effect.promise(async () => {
    const tunnels: Array<string> = []
    const forwarded: Array<string> = []
    const server = createProxy(createServer())
    server.on("connect", (request) => tunnels.push(request.url ?? ""))
    server.on("request", (request) => forwarded.push(request.url ?? ""))
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as AddressInfo
    return { server, proxy: { url: `http://127.0.0.1:${port}`, tunnels, forwarded } }
  }),
  ({ server }) =>
    Effect.promise(() =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    )
).pipe(Effect.map(({ proxy }): ForwardProxy => proxy))
