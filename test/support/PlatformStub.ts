import { Effect } from "effect"
import type { Duration, Layer } from "effect"
import type { HttpClientRequest } from "effect/http"
import type { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import { OpenCti } from "../../src/opencti/OpenCti.js"

export type OpenCtiCall =
  | { readonly op: "workAdd"; readonly name: string; readonly workId: string }
  | { readonly op: "workToProcessed"; readonly workId: string; readonly message: string; readonly inError: boolean }
  | { readonly op: "workAddExpectations"; readonly workId: string; readonly expectations: number }
  | { readonly op: "pushBundle"; readonly workId: string; readonly bundle: string }
  | { readonly op: "ping"; readonly state: string }
  | { readonly op: "createOrganization"; readonly name: string }

/** A platform answering the connector's GraphQL documents in memory, recording them: the HTTP client under a real OpenCti. */
export interface PlatformStub {
  readonly calls: Array<OpenCtiCall>
  /** Makes the n-th (1-based) bundle push fail with a GraphQL error. */
  failPushNumber?: number
  /** How long each bundle push takes (on the test clock). */
  pushDelay?: Duration.Input
  /** Runs while each accepted push is on its way, before it is answered. */
  onPush?: (bundle: string) => void
  connectorState: string | null
  /** The platform's answer to the next ping instead of the echo of the sent state (a reset from the UI). */
  nextPingAnswer?: string | null
  /** How many of the next pings fail (each recorded), with an error no retry clears. */
  failingPings?: number
  readonly layer: Layer.Layer<OpenCti, never, OpenCtiConfig>
}

interface GraphqlRequest {
  readonly query: string
  readonly variables: Readonly<Record<string, unknown>>
}

const decoder = new TextDecoder()

const documentOf = (request: HttpClientRequest.HttpClientRequest): GraphqlRequest =>
  request.body._tag === "Uint8Array" ? JSON.parse(decoder.decode(request.body.body)) : { query: "", variables: {} }

/** The operation name of a document: `mutation workAdd(...)` is `workAdd`. */
const operationOf = (query: string): string => /^(?:query|mutation) (\w+)/.exec(query)?.[1] ?? ""

const data = (value: unknown) => Response.json({ data: value })

export const makePlatformStub = (): PlatformStub => {
  let works = 0
  let pushes = 0
  const answer = (document: GraphqlRequest): Effect.Effect<Response> => {
    const variables = document.variables
    switch (operationOf(document.query)) {
      case "RegisterConnector":
        return Effect.sync(() =>
          data({
            registerConnector: {
              id: "connector",
              connector_state: stub.connectorState,
              config: {
                connection: { host: "localhost", vhost: "/", use_ssl: false, port: 5672, user: "guest", pass: "guest" },
                push_exchange: "amqp.worker.exchange",
                push_routing: "push_routing_test"
              },
              connector_user_id: "applicant"
            }
          })
        )
      case "PingConnector":
        return Effect.sync(() => {
          const state = String(variables["state"])
          stub.calls.push({ op: "ping", state })
          if ((stub.failingPings ?? 0) > 0) {
            stub.failingPings = (stub.failingPings ?? 0) - 1
            return Response.json({ errors: [{ message: "Connector not found", extensions: { code: "UNKNOWN_ERROR" } }] })
          }
          if (stub.nextPingAnswer !== undefined) {
            stub.connectorState = stub.nextPingAnswer
            delete stub.nextPingAnswer
          } else {
            stub.connectorState = state
          }
          return data({ pingConnector: { id: "connector", connector_state: stub.connectorState } })
        })
      case "workAdd":
        return Effect.sync(() => {
          const workId = `work-${++works}`
          stub.calls.push({ op: "workAdd", name: String(variables["friendlyName"]), workId })
          return data({ workAdd: { id: workId } })
        })
      case "workToProcessed":
        return Effect.sync(() => {
          const workId = String(variables["id"])
          stub.calls.push({ op: "workToProcessed", workId, message: String(variables["message"]), inError: variables["inError"] === true })
          return data({ workEdit: { toProcessed: workId } })
        })
      case "addExpectations":
        return Effect.sync(() => {
          const workId = String(variables["id"])
          stub.calls.push({ op: "workAddExpectations", workId, expectations: Number(variables["expectations"]) })
          return data({ workEdit: { addExpectations: workId } })
        })
      case "StixBundlePush":
        return Effect.andThen(stub.pushDelay === undefined ? Effect.void : Effect.sleep(stub.pushDelay), Effect.sync(() => {
          pushes += 1
          if (pushes === stub.failPushNumber) return Response.json({ errors: [{ message: "Invalid bundle", extensions: { code: "UNSUPPORTED_ERROR" } }] })
          stub.calls.push({ op: "pushBundle", workId: String(variables["work_id"]), bundle: String(variables["bundle"]) })
          stub.onPush?.(String(variables["bundle"]))
          return data({ stixBundlePush: true })
        }))
      case "OrganizationAdd":
        return Effect.sync(() => {
          const input = variables["input"]
          stub.calls.push({ op: "createOrganization", name: typeof input === "object" && input !== null && "name" in input ? String(input.name) : "" })
          return data({ organizationAdd: { id: "organization", standard_id: "identity--00000000-0000-5000-8000-000000000000" } })
        })
      case "VulnerabilitiesModifiedAt":
        return Effect.succeed(data({}))
      case "NotesByAbstract":
        return Effect.succeed(data({ notes: { edges: [], pageInfo: { endCursor: null, hasNextPage: false } } }))
      default:
        return Effect.succeed(Response.json({ errors: [{ message: `unexpected document: ${document.query.slice(0, 80)}` }] }))
    }
  }
  const stub: PlatformStub = {
    calls: [],
    connectorState: null,
    layer: OpenCti.layerTest((request, url) =>
      request.method === "GET" ? Effect.succeed(new Response(`no file ${url.pathname}`, { status: 404 })) : answer(documentOf(request))
    )
  }
  return stub
}
