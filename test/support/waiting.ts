import { Duration, Effect } from "effect"
import { createServer } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"

/** Polls `condition` every 10 ms; past `timeoutMs` (generous: the machine may be loaded) it throws, naming `what` it waited for. */
export const waitFor = async (condition: () => boolean, timeoutMs = 30_000, what = "condition"): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** Polls `probe` every 50 ms until `check` holds; past `seconds` the test dies, naming `what` it waited for. */
export const waitUntil = <A>(what: string, probe: Effect.Effect<A>, check: (value: A) => boolean, seconds = 30) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < seconds * 20; attempt++) {
      const value = yield* probe
      if (check(value)) return value
      yield* Effect.sleep(Duration.millis(50))
    }
    return yield* Effect.die(new Error(`${what}: not reached within ${seconds} s`))
  })

/** A TCP port free on `host` right now (the system picks it; it is released before it is returned). */
export const freePort = (host = "127.0.0.1"): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })
