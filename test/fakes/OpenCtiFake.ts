import { Effect, Layer } from "effect"
import type { Duration } from "effect"
import { OpenCti, OpenCtiError } from "../../src/opencti/OpenCti.js"

export type OpenCtiCall =
  | { readonly op: "workAdd"; readonly name: string; readonly workId: string }
  | { readonly op: "workToProcessed"; readonly workId: string; readonly message: string; readonly inError: boolean }
  | { readonly op: "workAddExpectations"; readonly workId: string; readonly expectations: number }
  | { readonly op: "pushBundle"; readonly workId: string; readonly bundle: string }
  | { readonly op: "ping"; readonly state: string }
  | { readonly op: "createOrganization"; readonly name: string }

/** A recording OpenCti service for unit tests of the logic above it. */
export interface OpenCtiFake {
  readonly calls: Array<OpenCtiCall>
  /** Makes the n-th (1-based) bundle push fail. */
  failPushNumber?: number
  /** How long each bundle push takes (on the test clock). */
  pushDelay?: Duration.Input
  connectorState: string | null
  /** The platform's answer to the next ping instead of the echo of the sent state (a reset from the UI). */
  nextPingAnswer?: string | null
  readonly layer: Layer.Layer<OpenCti>
}

export const makeOpenCtiFake = (): OpenCtiFake => {
  let works = 0
  let pushes = 0
  const fake: OpenCtiFake = {
    calls: [],
    connectorState: null,
    layer: Layer.sync(OpenCti, () =>
      OpenCti.of({
        register: Effect.sync(() => ({
          connectorState: fake.connectorState,
          connection: { host: "localhost", vhost: "/", useSsl: false, port: 5672, user: "guest", pass: "guest" },
          pushExchange: "amqp.worker.exchange",
          pushRouting: "push_routing_test",
          applicantId: "applicant"
        })),
        ping: (state) =>
          Effect.sync(() => {
            fake.calls.push({ op: "ping", state })
            if (fake.nextPingAnswer !== undefined) {
              const answer = fake.nextPingAnswer
              delete fake.nextPingAnswer
              fake.connectorState = answer
              return answer
            }
            fake.connectorState = state
            return state
          }),
        workAdd: (name) =>
          Effect.sync(() => {
            const workId = `work-${++works}`
            fake.calls.push({ op: "workAdd", name, workId })
            return workId
          }),
        workToProcessed: (workId, message, inError) => Effect.sync(() => void fake.calls.push({ op: "workToProcessed", workId, message, inError })),
        workAddExpectations: (workId, expectations) => Effect.sync(() => void fake.calls.push({ op: "workAddExpectations", workId, expectations })),
        pushBundle: (bundle, workId) =>
          Effect.andThen(fake.pushDelay === undefined ? Effect.void : Effect.sleep(fake.pushDelay), () => {
            pushes += 1
            if (pushes === fake.failPushNumber) {
              return Effect.fail(new OpenCtiError({ operation: "stixBundlePush", status: 200, code: "UNSUPPORTED_ERROR", retryable: false, message: "Invalid bundle" }))
            }
            fake.calls.push({ op: "pushBundle", workId, bundle })
            return Effect.void
          }),
        createOrganization: (name) =>
          Effect.sync(() => {
            fake.calls.push({ op: "createOrganization", name })
            return "identity--00000000-0000-5000-8000-000000000000"
          }),
        vulnerabilitiesModifiedAt: (ids) => Effect.succeed(new Map(ids.map((id) => [id, null]))),
        existingNoteAbstracts: () => Effect.succeed(new Set()),
        download: (path) => Effect.fail(new OpenCtiError({ operation: "download", status: 404, retryable: false, message: `no file ${path}` }))
      }))
  }
  return fake
}
