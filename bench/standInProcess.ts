import { startOpenCtiStandIn } from "../test/support/OpenCtiStandIn.js"

/**
 * The OpenCTI stand-in in a process of its own, so that a benchmark measures the connector's work and
 * not the platform's: prints `{"url": ...}` once listening, and stops with its parent's stdin.
 */
const standIn = await startOpenCtiStandIn({ token: process.argv[2] ?? "bench-token" })
process.stdout.write(`${JSON.stringify({ url: standIn.url })}\n`)
process.stdin.on("end", () => void standIn.close().then(() => process.exit(0)))
process.stdin.resume()
