import { assert } from "vitest"
import { setTimeout as sleep } from "node:timers/promises"
import { killIfRunning } from "./ConnectorProcess.js"
import type { ConnectorRun } from "./ConnectorProcess.js"
import { startFaultProxy, targetOf } from "./FaultProxy.js"
import type { FaultProxy } from "./FaultProxy.js"

/** The connector processes and fault proxies of a test, killed and closed by `cleanUp` after it. */
export const processRuns = () => {
  const proxies: Array<FaultProxy> = []
  const runs: Array<ConnectorRun> = []
  return {
    /** A proxy in front of the server at `url` (`http://host:port`). */
    proxyTo: async (url: string): Promise<FaultProxy> => {
      const proxy = await startFaultProxy(targetOf(url))
      proxies.push(proxy)
      return proxy
    },
    track: (run: ConnectorRun): ConnectorRun => {
      runs.push(run)
      return run
    },
    cleanUp: async (): Promise<void> => {
      for (const run of runs.splice(0)) await killIfRunning(run)
      for (const proxy of proxies.splice(0)) await proxy.close()
    }
  }
}

/** Waits for an injected fault to start; if the run ends first, or 60 s pass, the test fails with the run's logs. */
export const faultStarted = (fault: Promise<void>, run: ConnectorRun): Promise<void> =>
  Promise.race([
    fault,
    run.exited.then((exit) => assert.fail(`the run ended (${JSON.stringify(exit)}) before the fault started:\n${run.stderr()}`)),
    sleep(60_000).then(() => assert.fail(`the fault never started:\n${run.stderr()}`))
  ])

/** Waits for the run's exit; with the seconds it took from `since` (performance.now() milliseconds). */
export const runEnded = async (run: ConnectorRun, since: number) => {
  const exit = await run.exited
  return { ...exit, seconds: (performance.now() - since) / 1000 }
}

/** Seconds a loaded machine may add to a documented bound. */
export const slack = 15

/**
 * Sends SIGTERM to a run whose work is stalled (its calls given far longer than the stop) and checks
 * that the stop ends at its deadline of `deadline` seconds (CONNECTOR_SHUTDOWN_TIMEOUT_SEC): exit 1,
 * said in the logs.
 */
export const assertStopEndsAtDeadline = async (run: ConnectorRun, deadline: number): Promise<void> => {
  const since = performance.now()
  run.child.kill("SIGTERM")
  const exit = await runEnded(run, since)
  assert.strictEqual(exit.code, 1, run.stderr())
  assert.isBelow(exit.seconds, deadline + slack)
  assert.isTrue(run.logs().some((line) => String(line.message).startsWith(`The stop did not finish within ${deadline}s`)), run.stderr())
}
