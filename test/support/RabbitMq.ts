import * as amqp from "amqplib"
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { setTimeout as sleep } from "node:timers/promises"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { promisify } from "node:util"
import { freePort } from "./waiting.js"

/** A running RabbitMQ node, private to the test process that started it. */
export interface RabbitMqHandle {
  readonly host: string
  readonly port: number
  readonly vhost: string
  readonly user: string
  readonly pass: string
  /** `amqp://user:pass@host:port/vhost` */
  readonly url: string
  /** Data, logs and Erlang cookie of this node; removed by `close`. */
  readonly directory: string
  /** The `amqps` listener, with a self-signed certificate for 127.0.0.1, when asked for. */
  readonly tls: { readonly port: number; readonly caFile: string } | undefined
  /** Stops the broker (closing every connection) and starts it again on the same port and data. */
  readonly restart: () => Promise<void>
  /** Stops the broker and removes its directory; calling it again does nothing. */
  readonly close: () => Promise<void>
}

export interface RabbitMqOptions {
  /** RabbitMQ's `max_message_size`: larger messages close the publishing channel. */
  readonly maxMessageBytes?: number
  /** Raises a disk alarm from the start: the broker accepts connections but blocks every publisher. */
  readonly blockPublishers?: boolean
  /** Adds an `amqps` listener with a self-signed certificate (made with the `openssl` command). */
  readonly tls?: boolean
  /** Milliseconds to wait for the broker to accept AMQP connections (default 90 000). */
  readonly startTimeoutMs?: number
}

const HOST = "127.0.0.1"
const USER = "opencti"
const PASS = "changeme"
/** The broker's start script (Debian's `rabbitmq-server` package). */
export const rabbitMqServerScript = process.env.RABBITMQ_SERVER_SCRIPT ?? "/usr/lib/rabbitmq/bin/rabbitmq-server"
const STOP_GRACE_MS = 30_000
const POLL_MS = 200

/**
 * The broker runs under this shell, which owns a private epmd (so nothing outlives the test) and
 * answers `stop` / `start` lines on stdin with `stopped` / `started`. The end of stdin (the test
 * process is gone, however it ended) stops the broker and epmd and removes the directory.
 */
const GUARDIAN = `
epmd -address 127.0.0.1 -port "$ERL_EPMD_PORT" &
epmd_pid=$!
for _ in $(seq 100); do epmd -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1 && break; sleep 0.1; done
broker_pid=
start() { "$RABBITMQ_SERVER_SCRIPT" >>"$RABBITMQ_TEST_DIR/broker.log" 2>&1 & broker_pid=$!; }
stop() { if [ -n "$broker_pid" ]; then kill -TERM "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null; broker_pid=; fi; }
start
while read -r command; do
  case "$command" in
    stop) stop; echo stopped ;;
    start) start; echo started ;;
  esac
done
stop
kill -TERM "$epmd_pid" 2>/dev/null
wait "$epmd_pid" 2>/dev/null
rm -rf "$RABBITMQ_TEST_DIR"
`

const running = new Set<ChildProcessWithoutNullStreams>()
let exitHookInstalled = false

const killGroup = (child: ChildProcessWithoutNullStreams): void => {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
  } catch {
    // The group is already gone.
  }
}

const installExitHook = (): void => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const child of running) killGroup(child)
  })
}

const distinctFreePorts = async (count: number): Promise<Array<number>> => {
  const ports = new Set<number>()
  for (let attempt = 0; ports.size < count && attempt < 50; attempt++) ports.add(await freePort(HOST))
  if (ports.size < count) throw new Error(`could not find ${count} free ports on ${HOST}`)
  return [...ports]
}

const logTail = async (directory: string): Promise<string> => {
  const log = await readFile(join(directory, "broker.log"), "utf8").catch(() => "")
  return log.split("\n").slice(-40).join("\n")
}

/** Starts a RabbitMQ node on free ports of 127.0.0.1, with its data, logs and Erlang cookie in a temporary directory. */
export const startRabbitMq = async (options: RabbitMqOptions = {}): Promise<RabbitMqHandle> => {
  const directory = await mkdtemp(join(tmpdir(), "rabbitmq-"))
  const [port, distPort, epmdPort, tlsPort] = (await distinctFreePorts(4)) as [number, number, number, number]
  await mkdir(join(directory, "home"))
  const certFile = join(directory, "cert.pem")
  const keyFile = join(directory, "key.pem")
  if (options.tls === true) {
    await promisify(execFile)("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${HOST}`,
      "-addext", `subjectAltName=IP:${HOST}`, "-keyout", keyFile, "-out", certFile
    ])
  }
  const config = [
    `listeners.tcp.default = ${HOST}:${port}`,
    `default_user = ${USER}`,
    `default_pass = ${PASS}`,
    "loopback_users = none",
    `disk_free_limit.absolute = ${options.blockPublishers === true ? "1000000000000000" : "1MB"}`,
    ...(options.maxMessageBytes === undefined ? [] : [`max_message_size = ${options.maxMessageBytes}`]),
    ...(options.tls === true
      ? [
        `listeners.ssl.default = ${HOST}:${tlsPort}`,
        `ssl_options.cacertfile = ${certFile}`,
        `ssl_options.certfile = ${certFile}`,
        `ssl_options.keyfile = ${keyFile}`,
        "ssl_options.verify = verify_none",
        "ssl_options.fail_if_no_peer_cert = false"
      ]
      : [])
  ]
  await writeFile(join(directory, "rabbitmq.conf"), `${config.join("\n")}\n`)
  await writeFile(join(directory, "enabled_plugins"), "[].\n")
  installExitHook()
  const child = spawn("sh", ["-c", GUARDIAN], {
    cwd: directory,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: join(directory, "home"),
      LANG: "C.UTF-8",
      RABBITMQ_TEST_DIR: directory,
      RABBITMQ_SERVER_SCRIPT: rabbitMqServerScript,
      ERL_EPMD_PORT: String(epmdPort),
      ERL_CRASH_DUMP: join(directory, "erl_crash.dump"),
      RABBITMQ_NODENAME: `rabbit-${randomBytes(6).toString("hex")}@localhost`,
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_CONFIG_FILE: join(directory, "rabbitmq.conf"),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(directory, "advanced.config"),
      RABBITMQ_CONF_ENV_FILE: join(directory, "rabbitmq-env.conf"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(directory, "enabled_plugins"),
      RABBITMQ_MNESIA_BASE: join(directory, "mnesia"),
      RABBITMQ_LOG_BASE: join(directory, "log"),
      RABBITMQ_LOGS: "-",
      RABBITMQ_PID_FILE: join(directory, "rabbitmq.pid"),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}"
    }
  })
  running.add(child)
  child.stderr.resume()
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  void exited.then(() => running.delete(child))
  const lines = createInterface({ input: child.stdout })
  const acknowledged = (line: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const onLine = (text: string): void => {
        if (text !== line) return
        lines.off("line", onLine)
        resolve()
      }
      lines.on("line", onLine)
      void exited.then(() => reject(new Error(`the RabbitMQ guardian exited before answering ${line}`)))
    })
  const command = async (name: "stop" | "start"): Promise<void> => {
    const answer = acknowledged(name === "stop" ? "stopped" : "started")
    child.stdin.write(`${name}\n`)
    await answer
  }

  const url = `amqp://${USER}:${PASS}@${HOST}:${port}/%2F`
  const timeoutMs = options.startTimeoutMs ?? 90_000
  const waitUntilReady = async (): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    let lastError: unknown
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break
      try {
        const connection = await amqp.connect(url, { timeout: 2_000 })
        await connection.close()
        return
      } catch (error) {
        lastError = error
        await sleep(POLL_MS)
      }
    }
    throw new Error(`RabbitMQ did not accept AMQP on ${HOST}:${port} within ${timeoutMs} ms (${String(lastError)}):\n${await logTail(directory)}`)
  }

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => killGroup(child), STOP_GRACE_MS)
      child.stdin.end()
      await exited
      clearTimeout(timer)
    }
    await rm(directory, { recursive: true, force: true })
  }

  try {
    await waitUntilReady()
  } catch (error) {
    await close()
    throw error
  }
  return {
    host: HOST,
    port,
    vhost: "/",
    user: USER,
    pass: PASS,
    url,
    directory,
    tls: options.tls === true ? { port: tlsPort, caFile: certFile } : undefined,
    restart: async () => {
      await command("stop")
      await command("start")
      await waitUntilReady()
    },
    close
  }
}
