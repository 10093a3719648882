import { assert, describe, it } from "vitest"
import { setTimeout as sleep } from "node:timers/promises"
import { runConnector, startConnector } from "../support/ConnectorProcess.js"
import type { ConnectorRun } from "../support/ConnectorProcess.js"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { malwareBundle } from "../support/SampleBundles.js"
import { createBucket, listAllKeys, putObjects } from "../support/S3Bucket.js"
import { importerEnv, pushedNames, useS3Server } from "./importing.js"

const token = "kill-token"
const connectorId = "4c3b2a19-0f8e-4d7c-9b6a-5e4d3c2b1a09"
const files = 16
/** What can be sent but not yet deleted at any moment: the send in flight and the deletes behind it. */
const inFlightAtMost = 1 + 4

const server = useS3Server()

/** mulberry32: a small seeded generator, so that a failing moment can be replayed. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Where a trial kills the import: at the `push`-th push, before the platform answers it or `delayMs` after. */
interface KillPoint {
  readonly push: number
  readonly beforeAnswer: boolean
  readonly delayMs: number
}

const killPoints = (seed: number, count: number): ReadonlyArray<KillPoint> => {
  const random = seeded(seed)
  return Array.from({ length: count }, () => ({
    push: 1 + Math.floor(random() * files),
    beforeAnswer: random() < 0.3,
    delayMs: Math.floor(random() * 40)
  }))
}

const nameOf = (trial: number, index: number) => `trial-${trial}-file-${String(index).padStart(2, "0")}`
const keyOf = (index: number) => `ACI_TI/${String(index).padStart(2, "0")}.json`

describe("node dist/main.js s3-import killed with SIGKILL", () => {
  it.each(killPoints(20261203, 4).map((point, trial) => ({ point, trial })))("trial $trial: killed at push $point.push, before its answer: $point.beforeAnswer, else $point.delayMs ms after it", async ({ point, trial }) => {
    const openCti = await startOpenCtiStandIn({ token })
    const bucket = `kill-${trial}`
    try {
      await createBucket(server.client, bucket)
      await putObjects(server.client, bucket, Array.from({ length: files }, (_, index) => ({ key: keyOf(index), body: malwareBundle(nameOf(trial, index)) })))
      const env = importerEnv(openCti, server.s3, { token, id: connectorId, bucket }, { S3_BUCKET_PREFIXES: "ACI_TI", CONNECTOR_LOG_LEVEL: "error" })
      const answered = new Set<string>()
      let run: ConnectorRun | undefined
      openCti.bundlePushes.beforeAnswer = async (accepted) => {
        const name = (JSON.parse(accepted.raw) as { objects: Array<{ name: string }> }).objects[0]?.name ?? ""
        if (openCti.bundlePushes.bundles.length === point.push) {
          if (point.beforeAnswer) {
            run?.child.kill("SIGKILL")
            await run?.exited
            return
          }
          void sleep(point.delayMs).then(() => run?.child.kill("SIGKILL"))
        }
        answered.add(name)
      }
      run = startConnector("s3-import", env)
      const killed = await run.exited
      openCti.bundlePushes.beforeAnswer = () => Promise.resolve()

      const remaining = new Set(await listAllKeys(server.client, bucket, { prefix: "ACI_TI/" }))
      const deleted = Array.from({ length: files }, (_, index) => index).filter((index) => !remaining.has(keyOf(index)))
      const sentBeforeKill = new Set(pushedNames(openCti))
      // A run that ended before the kill point has nothing to show: the point must be reached.
      assert.strictEqual(killed.signal, "SIGKILL", run.stderr())
      for (const index of deleted) assert.isTrue(answered.has(nameOf(trial, index)), `${keyOf(index)} deleted without a confirmed send`)

      const rerun = await runConnector("s3-import", env)
      assert.strictEqual(rerun.code, 0, rerun.stderr)
      assert.deepStrictEqual(await listAllKeys(server.client, bucket, { prefix: "ACI_TI/" }), [])
      const pushed = pushedNames(openCti)
      const twice = [...new Set(pushed.filter((name, index) => pushed.indexOf(name) !== index))]
      const inFlight = [...sentBeforeKill].filter((name) => !deleted.some((index) => nameOf(trial, index) === name))
      assert.deepStrictEqual(new Set(pushed), new Set(Array.from({ length: files }, (_, index) => nameOf(trial, index))))
      for (const name of twice) assert.include(inFlight, name, `${name} sent twice though it was not in flight at the kill`)
      assert.isAtMost(twice.length, inFlightAtMost)
    } finally {
      await openCti.close()
    }
  })
})
