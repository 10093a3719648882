import { Duration, Effect, Redacted, Schedule, Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import type { OpenCtiConfigShape } from "../config/OpenCtiConfig.js"
import { OpenCtiError } from "./OpenCtiError.js"

const GraphqlErrors = Schema.Array(Schema.Struct({
  message: Schema.String,
  extensions: Schema.optional(Schema.Struct({ code: Schema.optional(Schema.String) }))
}))

const Envelope = Schema.Struct({
  data: Schema.optional(Schema.NullOr(Schema.Unknown)),
  errors: Schema.optional(GraphqlErrors)
})
const decodeEnvelope = Schema.decodeUnknownEffect(Envelope)

const requestTimeout = Duration.seconds(300)

/** Platform codes that a later attempt can clear (locks and transient storage trouble). */
const retryableCodes = new Set(["LOCK_ERROR", "DATABASE_ERROR", "INTERNAL_SERVER_ERROR"])

export interface GraphqlTransport {
  /** Sends one document and decodes `data` with `schema`; GraphQL errors and bad answers fail with OpenCtiError. */
  readonly execute: <A>(
    operation: string,
    query: string,
    variables: Record<string, unknown>,
    schema: Schema.ConstraintDecoder<A>
  ) => Effect.Effect<A, OpenCtiError>
  /** GET of a platform path (e.g. `/storage/get/...`) with the same authentication, as bytes. */
  readonly download: (path: string) => Effect.Effect<Uint8Array, OpenCtiError>
}

/** POST `{url}/graphql` with a bearer token; network errors, 5xx and 429 are retried with backoff, a bounded number of times. */
export const makeGraphqlTransport = (config: OpenCtiConfigShape, retries = 4) =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.bearerToken(Redacted.value(config.token)))
    )
    const retryPolicy = {
      while: (error: OpenCtiError) => error.retryable,
      schedule: Schedule.exponential("500 millis").pipe(Schedule.jittered),
      times: retries
    }

    const send = (operation: string, request: HttpClientRequest.HttpClientRequest) =>
      client.execute(request).pipe(
        Effect.mapError((error) => new OpenCtiError({ operation, retryable: true, message: error.message })),
        // The platform can take long on large bundles; pycti waits 300 s before giving up too.
        Effect.timeoutOrElse({
          duration: requestTimeout,
          orElse: () => Effect.fail(new OpenCtiError({ operation, retryable: true, message: `no answer within ${Duration.format(requestTimeout)}` }))
        }),
        Effect.flatMap((response) =>
          response.status === 200
            ? Effect.succeed(response)
            : Effect.flatMap(Effect.orElseSucceed(response.text, () => ""), (body) =>
              Effect.fail(new OpenCtiError({
                operation,
                status: response.status,
                retryable: response.status >= 500 || response.status === 429,
                message: `HTTP ${response.status}: ${body.slice(0, 500)}`
              })))
        )
      )

    const execute = <A>(operation: string, query: string, variables: Record<string, unknown>, schema: Schema.ConstraintDecoder<A>) =>
      send(operation, HttpClientRequest.post(`${config.url}/graphql`).pipe(HttpClientRequest.bodyJsonUnsafe({ query, variables }))).pipe(
        Effect.flatMap((response) => Effect.mapError(response.json, (error) => new OpenCtiError({ operation, status: 200, retryable: true, message: `unreadable answer: ${error.message}` }))),
        Effect.flatMap((body) => Effect.mapError(decodeEnvelope(body), (error) => new OpenCtiError({ operation, status: 200, retryable: false, message: `not a GraphQL answer: ${error.message}` }))),
        Effect.flatMap((envelope) => {
          const first = envelope.errors?.[0]
          if (first !== undefined) {
            const code = first.extensions?.code
            return Effect.fail(new OpenCtiError({
              operation,
              status: 200,
              ...(code === undefined ? {} : { code }),
              retryable: code !== undefined && retryableCodes.has(code),
              message: first.message
            }))
          }
          return Schema.decodeUnknownEffect(schema)(envelope.data).pipe(
            Effect.mapError((error) => new OpenCtiError({ operation, status: 200, retryable: false, message: `unexpected answer: ${error.message}` }))
          )
        }),
        Effect.retry(retryPolicy),
        Effect.withSpan(`OpenCti.${operation}`)
      )

    const download = (path: string) =>
      send("download", HttpClientRequest.get(`${config.url}${path.startsWith("/") ? "" : "/"}${path}`)).pipe(
        Effect.flatMap((response) => Effect.mapError(response.arrayBuffer, (error) => new OpenCtiError({ operation: "download", retryable: true, message: error.message }))),
        Effect.map((buffer) => new Uint8Array(buffer)),
        Effect.retry(retryPolicy),
        Effect.withSpan("OpenCti.download", { attributes: { path } })
      )

    return { execute, download } satisfies GraphqlTransport
  })
