import { assert, describe, it } from "@effect/vitest"
import { request } from "node:http"
import { setTimeout as sleep } from "node:timers/promises"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import { OPENCTI_EXTENSION, platformEvent, syntheticEvents } from "../support/opencti/streamEvents.js"
import { waitFor } from "../support/waiting.js"
import { TOKEN, withStandIn } from "./standInClient.js"
import { openStream } from "./streamClient.js"

const vulnerability = (n: number, extension: Record<string, unknown> = {}) => ({
  id: `vulnerability--00000000-0000-5000-8000-00000000000${n}`,
  spec_version: "2.1",
  type: "vulnerability",
  name: `CVE-2024-000${n}`,
  extensions: { [OPENCTI_EXTENSION]: { type: "Vulnerability", is_inferred: false, ...extension } }
})

const fiveEvents = [
  platformEvent("create", vulnerability(1), { id: "1730000000001-0" }),
  platformEvent("update", vulnerability(1), { id: "1730000000002-0", message: "replaces `9.8` in `CVSS3 - Score`" }),
  platformEvent("create", vulnerability(2), { id: "1730000000002-1" }),
  platformEvent("merge", vulnerability(2), { id: "1730000000003-0" }),
  platformEvent("delete", vulnerability(1), { id: "1730000000004-0" })
]
const IDS = ["1730000000001-0", "1730000000002-0", "1730000000002-1", "1730000000003-0", "1730000000004-0"]

/** Reads a raw response until `until` holds for the text read so far, then cancels it. */
const readRaw = async (url: string, headers: Record<string, string>, until: (text: string) => boolean) => {
  const response = await fetch(url, { headers })
  const reader = response.body?.getReader()
  const decoder = new TextDecoder()
  let text = ""
  for (let read = await reader?.read(); read !== undefined && !read.done; read = await reader?.read()) {
    text += decoder.decode(read.value, { stream: true })
    if (until(text)) break
  }
  await reader?.cancel()
  return { response, text }
}

/** Counts complete `create` messages in a text stream fed in arbitrary pieces. */
const createCounter = () => {
  let carry = ""
  let count = 0
  let lastId = ""
  return {
    push(text: string): number {
      const blocks = (carry + text).split("\n\n")
      carry = blocks.pop() ?? ""
      for (const block of blocks) {
        if (!block.includes("\nevent: create\n")) continue
        count += 1
        lastId = block.slice("id: ".length, block.indexOf("\n"))
      }
      return count
    },
    get lastId() {
      return lastId
    }
  }
}

describe("OpenCTI stand-in live stream", () => {
  it("sends `connected` without an id first, then data events in the platform's wire format", () =>
    withStandIn({ stream: { events: fiveEvents } }, async (standIn) => {
      const { response, text } = await readRaw(
        `${standIn.url}/stream/live`,
        { Authorization: `Bearer ${TOKEN}`, "Last-Event-ID": "0-0" },
        (text) => text.includes("1730000000004-0")
      )
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers.get("content-type"), "text/event-stream; charset=utf-8")
      assert.strictEqual(response.headers.get("cache-control"), "no-cache, no-transform")
      const blocks = text.split("\n\n").filter((block) => block !== "")
      assert.match(blocks[0] ?? "", /^event: connected\ndata: \{.*\}$/)
      const connected = JSON.parse((blocks[0] ?? "").split("data: ")[1] ?? "") as Record<string, unknown>
      assert.deepInclude(connected, {
        firstEventId: "1730000000001-0",
        lastEventId: "1730000000004-0",
        streamSize: 5,
        connectionId: standIn.stream.connections[0]?.connectionId
      })
      const first = blocks[1]?.split("\n") ?? []
      assert.deepStrictEqual(first.slice(0, 2), ["id: 1730000000001-0", "event: create"])
      const payload = JSON.parse(first[2]?.slice("data: ".length) ?? "") as Record<string, unknown>
      assert.deepInclude(payload, {
        version: "4",
        type: "create",
        scope: "external",
        message: "creates a Vulnerability `CVE-2024-0001`",
        event_id: "1730000000001-0"
      })
      assert.deepStrictEqual(payload["data"], vulnerability(1))
      assert.deepStrictEqual(blocks.slice(1, 6).map((block) => block.split("\n")[1]), [
        "event: create",
        "event: update",
        "event: create",
        "event: merge",
        "event: delete"
      ])
    }))

  it("resumes strictly after Last-Event-ID, from the `from` parameter, from 0-0, or live", () =>
    withStandIn({ stream: { events: fiveEvents } }, async (standIn) => {
      const resumed = openStream(standIn, { lastEventId: "1730000000002-0" })
      const fromQuery = openStream(standIn, { query: "?from=1730000000003-0" })
      const fromStart = openStream(standIn, { lastEventId: "0-0" })
      const live = openStream(standIn)
      await waitFor(() => resumed.data().length === 3 && fromQuery.data().length === 1 && fromStart.data().length === 5)
      await waitFor(() => live.received.some((message) => message.type === "connected"))
      standIn.stream.append(platformEvent("create", vulnerability(3)))
      await waitFor(() => live.data().length === 1 && fromStart.data().length === 6)
      assert.deepStrictEqual(resumed.data().slice(0, 3).map((message) => message.id), IDS.slice(2))
      assert.deepStrictEqual(fromQuery.data().slice(0, 1).map((message) => message.id), IDS.slice(4))
      assert.deepStrictEqual(live.data().map((message) => message.type), ["create"])
      assert.isAbove(Number(live.data()[0]?.id.split("-")[0]), 1730000000004)
      for (const client of [resumed, fromQuery, fromStart, live]) client.close()
      assert.deepStrictEqual(standIn.stream.connections.map((connection) => connection.request.from), [
        "1730000000002-0",
        "1730000000003-0",
        "0-0",
        undefined
      ])
    }))

  it("drops a connection after N events and serves the reconnect from the client's last id", () =>
    withStandIn({ stream: { events: fiveEvents, retryMs: 20 } }, async (standIn) => {
      standIn.stream.planConnections({ dropAfterEvents: 2 }, { dropAfterEvents: 2 })
      const client = openStream(standIn, { lastEventId: "0-0" })
      await waitFor(() => client.data().length === 5)
      client.close()
      assert.deepStrictEqual(client.data().map((message) => message.id), IDS)
      assert.deepStrictEqual(standIn.stream.connections.map((connection) => connection.request.lastEventId), [
        "0-0",
        "1730000000002-0",
        "1730000000003-0"
      ])
      assert.deepStrictEqual(standIn.stream.connections.map((connection) => connection.eventsSent), [2, 2, 1])
      assert.strictEqual(client.errors.length, 2)
    }))

  it("sends heartbeats with an id every interval, their data derived from the id", () =>
    withStandIn({
      clock: () => 1730000004321,
      stream: { events: fiveEvents.slice(0, 2), heartbeatIntervalMs: 30 }
    }, async (standIn) => {
      const client = openStream(standIn, { lastEventId: "0-0" })
      await waitFor(() => client.received.filter((message) => message.type === "heartbeat").length >= 2)
      client.close()
      const heartbeat = client.received.find((message) => message.type === "heartbeat")
      assert.deepStrictEqual(heartbeat, {
        type: "heartbeat",
        id: "1730000004321-0",
        data: "\"2024-10-27T03:33:24.321Z\""
      })
      assert.isAtLeast(standIn.stream.connections[0]?.heartbeats ?? 0, 2)
    }))

  it("delivers events appended while clients are connected", () =>
    withStandIn({ stream: { events: fiveEvents } }, async (standIn) => {
      const client = openStream(standIn, { lastEventId: "1730000000004-0" })
      await waitFor(() => client.received.length === 1)
      const appended = standIn.stream.append(
        platformEvent("create", vulnerability(5), { id: "1730000000005-0" }),
        platformEvent("update", vulnerability(5))
      )
      await waitFor(() => client.data().length === 2)
      client.close()
      assert.deepStrictEqual(client.data()[0], {
        type: "create",
        id: "1730000000005-0",
        data: JSON.stringify(platformEvent("create", vulnerability(5), { id: "1730000000005-0" }).data)
      })
      assert.strictEqual(appended.length, 2)
      assert.strictEqual(standIn.stream.log.length, 7)
    }))

  it("refuses bad tokens and unknown streams with 401 and stopped streams with 410, bodies empty", () =>
    withStandIn({ stream: { ids: ["live", "c0ffee"] } }, async (standIn) => {
      const answer = async (path: string, token: string) => {
        const response = await fetch(`${standIn.url}${path}`, { headers: { Authorization: `Bearer ${token}` } })
        return [response.status, response.statusText, await response.text()]
      }
      assert.deepStrictEqual(await answer("/stream/live", "wrong"), [
        401,
        "You are not authenticated, please check your credentials",
        ""
      ])
      assert.deepStrictEqual(await answer("/stream/unknown", TOKEN), [
        401,
        "You are not authorized, please check your credentials",
        ""
      ])
      standIn.stream.setStopped("c0ffee", true)
      assert.deepStrictEqual(await answer("/stream/c0ffee", TOKEN), [410, "This live stream is stopped", ""])
      standIn.stream.planConnections({ status: 500 })
      assert.deepStrictEqual((await answer("/stream/live", TOKEN)).slice(0, 1), [500])

      const client = openStream(standIn, { token: "wrong" })
      await waitFor(() => client.errors.length === 1)
      assert.deepStrictEqual(client.errors, [{ code: 401, message: "Non-200 status code (401)" }])
      assert.strictEqual(client.source.readyState, client.source.CLOSED)
      assert.strictEqual(standIn.stream.connections.length, 0)
    }))

  it("stays silent for a planned silent connection and while the stream is silenced", () =>
    withStandIn({ stream: { events: fiveEvents, heartbeatIntervalMs: 20 } }, async (standIn) => {
      standIn.stream.planConnections({ silent: true })
      const silent = openStream(standIn, { lastEventId: "0-0" })
      await waitFor(() => silent.received.length === 1)
      // A connection opened after it has had its events and heartbeats: the silent one had the same chances.
      const witness = openStream(standIn, { lastEventId: "0-0" })
      await waitFor(() => witness.data().length === 5 && witness.received.filter((message) => message.type === "heartbeat").length >= 2)
      assert.deepStrictEqual(silent.received.map((message) => message.type), ["connected"])
      assert.deepStrictEqual([standIn.stream.connections[0]?.eventsSent, standIn.stream.connections[0]?.heartbeats], [0, 0])
      silent.close()
      witness.close()

      const client = openStream(standIn, { lastEventId: "0-0" })
      await waitFor(() => client.data().length === 5)
      standIn.stream.setSilent(true)
      const connection = standIn.stream.connections.at(-1)
      const written = () => 1 + (connection?.eventsSent ?? 0) + (connection?.heartbeats ?? 0)
      // Everything written before the silence has arrived.
      await waitFor(() => client.received.length === written())
      const before = client.received.length
      standIn.stream.append(platformEvent("create", vulnerability(6)))
      // Silenced for several heartbeat intervals: nothing written, nothing received.
      await sleep(150)
      assert.strictEqual(written(), before)
      assert.strictEqual(client.received.length, before)
      standIn.stream.setSilent(false)
      await waitFor(() => client.data().length === 6)
      client.close()
    }))

  it("honours listen-delete and with-inferences and records the options it was given", () => {
    const events = [
      platformEvent("create", vulnerability(1), { id: "1-0" }),
      platformEvent("delete", vulnerability(1), { id: "2-0" }),
      platformEvent("create", vulnerability(2, { is_inferred: true }), { id: "3-0" }),
      platformEvent("create", vulnerability(3), { id: "4-0" })
    ]
    return withStandIn({ stream: { events } }, async (standIn) => {
      const noDeletes = openStream(standIn, { lastEventId: "0-0", headers: { "listen-delete": "false" } })
      const inferred = openStream(standIn, { query: "?with-inferences=true&from=0-0" })
      await waitFor(() => noDeletes.data().length === 2 && inferred.data().length === 4)
      // Both connections have been served the whole log: no other event can follow.
      assert.deepStrictEqual(standIn.stream.connections.map((connection) => [connection.eventsSent, connection.lastSentId]), [[2, "4-0"], [4, "4-0"]])
      noDeletes.close()
      inferred.close()
      assert.deepStrictEqual(noDeletes.data().map((message) => message.id), ["1-0", "4-0"])
      assert.deepStrictEqual(inferred.data().map((message) => message.id), ["1-0", "2-0", "3-0", "4-0"])
      const [first, second] = standIn.stream.connections
      assert.deepInclude(first?.request, { listenDelete: "false", noDependencies: "true", withInferences: "false" })
      assert.deepInclude(second?.request, { listenDelete: "true", withInferences: "true", from: "0-0" })
      assert.strictEqual(first?.request.headers["accept"], "text/event-stream")
    })
  })

  it("recovers: snapshot objects updated between start and recover first, then events after the recover date", () => {
    const at = (iso: string, n: number) =>
      vulnerability(n, { updated_at: iso, type: "Vulnerability", id: `00000000-0000-4000-8000-00000000000${n}` })
    const snapshot = [
      at("2024-10-27T10:00:02.000Z", 2),
      at("2024-10-27T10:00:01.000Z", 1),
      at("2024-10-27T10:00:09.000Z", 3)
    ]
    const recoverMs = Date.parse("2024-10-27T10:00:05.000Z")
    const events = [
      platformEvent("create", vulnerability(7), { id: `${recoverMs - 1}-0` }),
      platformEvent("update", vulnerability(8), { id: `${recoverMs + 1}-0` })
    ]
    return withStandIn({ stream: { events, snapshot } }, async (standIn) => {
      const client = openStream(standIn, { lastEventId: "0-0", query: "?recover=2024-10-27T10:00:05Z" })
      await waitFor(() => client.data().length === 3)
      client.close()
      const [first, second, third] = client.data()
      assert.deepStrictEqual([first?.id, second?.id, third?.id], [
        `${Date.parse("2024-10-27T10:00:01.000Z")}-0`,
        `${Date.parse("2024-10-27T10:00:02.000Z")}-0`,
        `${recoverMs + 1}-0`
      ])
      assert.deepStrictEqual(JSON.parse(first?.data ?? ""), {
        data: snapshot[1],
        message: "creates a Vulnerability `CVE-2024-0001`",
        origin: { referer: "init-create" },
        version: "4"
      })
      assert.strictEqual(third?.type, "update")

      const response = await fetch(`${standIn.url}/stream/live?recover=2024-10-27T10:00:05Z`, {
        headers: { Authorization: `Bearer ${TOKEN}` }
      })
      assert.deepStrictEqual([response.status, response.statusText], [
        500,
        "Error in stream live: Recovery mode is only possible with a start date."
      ])
    })
  })

  it("serves 100 000 synthetic ~1 KB events in big chunks", () =>
    withStandIn({ stream: { events: syntheticEvents(100_000) } }, async (standIn) => {
      const started = Date.now()
      const response = await fetch(`${standIn.url}/stream/live`, {
        headers: { Authorization: `Bearer ${TOKEN}`, "Last-Event-ID": "0-0" }
      })
      const reader = response.body?.getReader()
      const decoder = new TextDecoder()
      const counter = createCounter()
      let count = 0
      let bytes = 0
      for (let read = await reader?.read(); read !== undefined && !read.done; read = await reader?.read()) {
        bytes += read.value.byteLength
        count = counter.push(decoder.decode(read.value, { stream: true }))
        if (count >= 100_000) break
      }
      await reader?.cancel()
      const seconds = (Date.now() - started) / 1000
      assert.deepStrictEqual([count, counter.lastId], [100_000, "1700000099999-0"])
      assert.isAbove(bytes, 100_000 * 1024)
      assert.isBelow(seconds, 30)
      const sample = JSON.parse(syntheticEvents(1).at(0).data) as { data: { name: string } }
      assert.strictEqual(sample.data.name, "CVE-2099-0000000")
      assert.approximately(syntheticEvents(3).at(2).data.length, 1024, 2)
    }), 60_000)

  it("stops writing while a reader does not read (backpressure), then delivers everything", () =>
    withStandIn({ stream: { events: syntheticEvents(50_000) } }, async (standIn) => {
      const url = new URL(`${standIn.url}/stream/live`)
      const counter = createCounter()
      const done = new Promise<void>((resolve, reject) => {
        const headers = { Authorization: `Bearer ${TOKEN}`, "Last-Event-ID": "0-0" }
        const outgoing = request(url, { headers }, (response) => {
          response.pause()
          void sleep(300).then(() => {
            const sent = standIn.stream.connections[0]?.eventsSent ?? 0
            if (sent >= 50_000) reject(new Error(`server wrote all ${sent} events to a paused reader`))
            response.setEncoding("utf8")
            response.on("data", (text: string) => {
              if (counter.push(text) === 50_000) {
                response.destroy()
                resolve()
              }
            })
            response.resume()
          })
        })
        outgoing.on("error", reject)
        outgoing.end()
      })
      await done
      assert.strictEqual(counter.lastId, "1700000049999-0")
      assert.strictEqual(standIn.stream.connections[0]?.eventsSent, 50_000)
    }), 60_000)

  it("close() ends open streams", async () => {
    const standIn = await startOpenCtiStandIn({ token: TOKEN })
    const client = openStream(standIn)
    await waitFor(() => client.received.length === 1)
    const started = Date.now()
    await standIn.close()
    // Not held open by the stream until a keep-alive or heartbeat timeout.
    assert.isBelow(Date.now() - started, 5_000)
    client.close()
    assert.isFalse(standIn.stream.connections[0]?.open)
  })
})
