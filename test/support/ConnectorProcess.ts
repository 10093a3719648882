import { Effect } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { ConnectorCommand } from "../../src/app/ConnectorChoice.js"
import { waitFor } from "./waiting.js"

const mainScript = fileURLToPath(new URL("../../dist/main.js", import.meta.url))

/** One JSON log line of a connector. */
export interface LogLine {
  readonly timestamp: string
  readonly level: string
  readonly name: string
  readonly message: unknown
  readonly exc_info?: string
  readonly attributes?: Record<string, unknown>
}

export interface ConnectorRun {
  readonly child: ChildProcess
  /** Resolves when the process exits, with its exit code (or the signal that ended it). */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly stdout: () => string
  readonly stderr: () => string
  /** The stderr lines that are JSON log lines. */
  readonly logs: () => ReadonlyArray<LogLine>
}

/**
 * Starts `argv` (`node` is this Node.js) in `cwd` with exactly `env` (plus PATH, and the operations
 * server off unless `env` says otherwise), as a container would run it.
 */
export const startProcess = (argv: ReadonlyArray<string>, env: Record<string, string>, cwd?: string): ConnectorRun => {
  const [program = "node", ...args] = argv
  const child = spawn(program === "node" ? process.execPath : program, args, {
    env: { PATH: process.env["PATH"] ?? "", CONNECTOR_METRICS_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(cwd === undefined ? {} : { cwd })
  })
  let stdout = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  const logs = () =>
    stderr.split("\n").flatMap((line) => {
      if (!line.startsWith("{")) return []
      try {
        return [JSON.parse(line) as LogLine]
      } catch {
        return []
      }
    })
  return { child, exited, stdout: () => stdout, stderr: () => stderr, logs }
}

/** Starts the built CLI (`node dist/main.js <command> <flags>`). Build first (`npm run build`). */
export const startConnector = (command: string, env: Record<string, string>, flags: ReadonlyArray<string> = []): ConnectorRun =>
  startProcess(["node", mainScript, command, ...flags], env)

/** Kills the run (SIGKILL) if it is still running, and waits for its exit. */
export const killIfRunning = async (run: ConnectorRun): Promise<void> => {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL")
  await run.exited
}

/** The built CLI's `command` for the enclosing scope: killed (SIGKILL) when the scope closes, if still running. */
export const connectorProcess = (command: ConnectorCommand, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => startConnector(command, env)),
    (run) => Effect.promise(() => killIfRunning(run))
  )

/** Runs the CLI to its end (killing it after `timeoutMs`). */
export const runConnector = async (command: string, env: Record<string, string>, flags: ReadonlyArray<string> = [], timeoutMs = 120_000) => {
  const run = startConnector(command, env, flags)
  const timer = setTimeout(() => run.child.kill("SIGKILL"), timeoutMs)
  try {
    const exit = await run.exited
    return { ...exit, stdout: run.stdout(), stderr: run.stderr(), logs: run.logs() }
  } finally {
    clearTimeout(timer)
  }
}

/** Waits until `done` holds or the process ends by itself, then stops it (SIGTERM) and waits for its exit. */
export const stopWhen = async (run: ConnectorRun, done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> => {
  let ended = false
  void run.exited.then(() => (ended = true))
  try {
    await waitFor(() => ended || done(), timeoutMs, what)
  } finally {
    run.child.kill("SIGTERM")
    await run.exited
  }
}
