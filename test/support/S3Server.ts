import { S3Client } from "@aws-sdk/client-s3"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { rmSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { createRequire } from "node:module"
import { connect, Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A running s3rver child process and the credentials it accepts. */
export interface S3ServerHandle {
  readonly endpoint: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly region: string
  /** Data directory of this server; removed by `close`. */
  readonly directory: string
  readonly close: () => Promise<void>
}

export interface S3ServerOptions {
  /** Milliseconds to wait for the server to listen (default 20 000). */
  readonly startTimeoutMs?: number
}

const HOST = "127.0.0.1"
const LISTENING = /S3rver listening on [^:]+:(\d+)/
const STOP_GRACE_MS = 5_000

const s3rverBin = createRequire(import.meta.url).resolve("s3rver/bin/s3rver.js")

// The loader runs the s3rver CLI as if it were the main script and exits when the IPC channel
// closes, so the child never outlives its parent, even one killed with SIGKILL.
const LOADER = "process.on('disconnect', () => process.exit(0)); require(process.argv[1])"

// Children not closed yet, with their data directories, cleaned up if the process exits first.
const running = new Map<ChildProcess, string>()
let exitHookInstalled = false

const installExitHook = (): void => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const [child, directory] of running) {
      child.kill("SIGKILL")
      rmSync(directory, { recursive: true, force: true })
    }
  })
}

const waitForPort = (child: ChildProcess, timeoutMs: number): Promise<number> =>
  new Promise((resolve, reject) => {
    let output = ""
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8")
      const match = LISTENING.exec(output)
      if (match?.[1] !== undefined) finish(() => resolve(Number(match[1])))
    }
    const onExit = (code: number | null): void =>
      finish(() => reject(new Error(`s3rver exited with code ${code} before listening:\n${output}`)))
    const timer = setTimeout(
      () => finish(() => reject(new Error(`s3rver did not listen within ${timeoutMs} ms:\n${output}`))),
      timeoutMs
    )
    const finish = (settle: () => void): void => {
      clearTimeout(timer)
      child.stdout?.off("data", onData)
      child.stderr?.off("data", onData)
      child.off("exit", onExit)
      settle()
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    child.once("exit", onExit)
  })

const acceptsConnections = (port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port }, () => {
      socket.end()
      resolve()
    })
    socket.once("error", reject)
  })

const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGTERM")
  })

/** Starts s3rver as a child process on a free port of 127.0.0.1 with a fresh data directory. */
export const startS3Server = async (options: S3ServerOptions = {}): Promise<S3ServerHandle> => {
  const directory = await mkdtemp(join(tmpdir(), "s3rver-"))
  installExitHook()
  const child = spawn(
    process.execPath,
    ["--openssl-legacy-provider", "-e", LOADER, s3rverBin, "-d", directory, "-a", HOST, "-p", "0", "--silent"],
    { stdio: ["ignore", "pipe", "pipe", "ipc"] }
  )
  running.set(child, directory)
  const close = async (): Promise<void> => {
    await stop(child)
    running.delete(child)
    await rm(directory, { recursive: true, force: true })
  }
  try {
    const port = await waitForPort(child, options.startTimeoutMs ?? 20_000)
    await acceptsConnections(port)
    // Startup output has been read; from now on the child must not keep the parent alive.
    for (const output of [child.stdout, child.stderr]) {
      output?.resume()
      if (output instanceof Socket) output.unref()
    }
    child.unref()
    child.channel?.unref()
    return {
      endpoint: `http://${HOST}:${port}`,
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
      region: "us-east-1",
      directory,
      close
    }
  } catch (error) {
    await close()
    throw error
  }
}

/** The s3rver child for the enclosing scope. */
export const s3ServerScoped = (options: S3ServerOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startS3Server(options)),
    (server) => Effect.promise(() => server.close())
  )

/**
 * An S3 client configured for s3rver: path-style URLs, and checksums only when an operation
 * requires them (s3rver stores the aws-chunked framing of default-checksummed streams as data).
 */
export const makeS3Client = (server: S3ServerHandle): S3Client =>
  new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED"
  })
