import { performance } from "node:perf_hooks"
import { createInterface } from "node:readline"
import { startOpenCtiStandIn } from "../test/support/OpenCtiStandIn.js"

/**
 * The OpenCTI stand-in in a process of its own, so that a benchmark measures the connector's work and
 * not the platform's: prints `{"url": ...}` once listening, and stops with its parent's stdin. Each
 * `mark` line read on stdin is answered, once the next GraphQL call has arrived, with
 * `{"firstCallAt": <ms since the epoch>}`: when a connector started after the mark first reached the platform.
 */
const standIn = await startOpenCtiStandIn({ token: process.argv[2] ?? "bench-token" })
process.stdout.write(`${JSON.stringify({ url: standIn.url })}\n`)

const now = () => performance.timeOrigin + performance.now()

/** Polls (every millisecond, only between a mark and the call after it) for a call past the `seen` first ones. */
const answerNextCall = (seen: number) => {
  const poll = setInterval(() => {
    if (standIn.calls.length === seen) return
    clearInterval(poll)
    process.stdout.write(`${JSON.stringify({ firstCallAt: now() })}\n`)
  }, 1)
}

createInterface({ input: process.stdin })
  .on("line", (line) => {
    if (line === "mark") answerNextCall(standIn.calls.length)
  })
  .on("close", () => void standIn.close().then(() => process.exit(0)))
