import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { createServer } from "node:http"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { Fault, startFaultProxy } from "../support/FaultProxy.js"
import type { FaultProxy } from "../support/FaultProxy.js"

const big = Buffer.alloc(512 * 1024, "x")

let server: Server
let port: number

beforeAll(async () => {
  server = createServer((request, response) => {
    const body = request.url === "/big" ? big : Buffer.from(`small ${request.url}`)
    response.writeHead(200, { "content-length": String(body.length) })
    response.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

/** Runs `test` with a fresh proxy in front of the server, closed afterwards. */
const withProxy = async (test: (proxy: FaultProxy) => Promise<void>) => {
  const proxy = await startFaultProxy({ host: "127.0.0.1", port })
  try {
    await test(proxy)
  } finally {
    await proxy.close()
  }
}

/** Whether `promise` settles within `ms`. */
const settlesWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true, () => true), sleep(ms).then(() => false)])

describe("FaultProxy", () => {
  it("passes the traffic through, connection by connection", () =>
    withProxy(async (proxy) => {
      assert.strictEqual(await (await fetch(`${proxy.url}/one`)).text(), "small /one")
      assert.strictEqual((await (await fetch(`${proxy.url}/big`)).arrayBuffer()).byteLength, big.length)
      assert.isAtLeast(proxy.connections, 1)
    }))

  it("delays every chunk both ways with latency", () =>
    withProxy(async (proxy) => {
      await proxy.inject(Fault.latency(150))
      const start = performance.now()
      assert.strictEqual(await (await fetch(`${proxy.url}/slow`)).text(), "small /slow")
      assert.isAtLeast(performance.now() - start, 290)
    }))

  it("stalls a body mid-way, holding the connection open, and lets it go on when healed", () =>
    withProxy(async (proxy) => {
      await proxy.inject(Fault.stall(100_000))
      const response = await fetch(`${proxy.url}/big`)
      const body = response.arrayBuffer()
      assert.isFalse(await settlesWithin(body, 500), "the body is stalled")
      await proxy.heal()
      assert.strictEqual((await body).byteLength, big.length)
    }))

  it("stalls a server that answers nothing", () =>
    withProxy(async (proxy) => {
      await proxy.inject(Fault.stall())
      assert.isFalse(await settlesWithin(fetch(`${proxy.url}/hung`), 500))
    }))

  it("resets a connection mid-body", () =>
    withProxy(async (proxy) => {
      await proxy.inject(Fault.reset(100_000))
      const outcome = await fetch(`${proxy.url}/big`).then((response) => response.arrayBuffer()).then(() => "complete", (error: unknown) => String(error))
      assert.notStrictEqual(outcome, "complete")
    }))

  it("refuses connections, and listens again when healed", () =>
    withProxy(async (proxy) => {
      await proxy.inject(Fault.refuse)
      const refused = await fetch(`${proxy.url}/refused`).then(() => undefined, (error: { cause?: { code?: string } }) => error.cause?.code)
      assert.strictEqual(refused, "ECONNREFUSED")
      await proxy.heal()
      assert.strictEqual(await (await fetch(`${proxy.url}/back`)).text(), "small /back")
    }))

  it("with a pattern, acts only on the connection of the first request that matches", () =>
    withProxy(async (proxy) => {
      const started = proxy.inject(Fault.stall(), { when: /GET \/big / })
      assert.strictEqual(await (await fetch(`${proxy.url}/before`)).text(), "small /before")
      assert.isFalse(await settlesWithin(started, 100))
      const stalled = fetch(`${proxy.url}/big`)
      await started
      assert.isFalse(await settlesWithin(stalled, 500))
      assert.strictEqual(await (await fetch(`${proxy.url}/after`)).text(), "small /after", "other connections pass")
    }))
})
