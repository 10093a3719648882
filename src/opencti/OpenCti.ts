import { Array as Arr, Context, Effect, Layer, Schema } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import type { HttpClientRequest } from "effect/http"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import * as Documents from "./documents.js"
import { makeGraphqlTransport } from "./GraphqlTransport.js"
import { OpenCtiError } from "./OpenCtiError.js"

export { OpenCtiError }

const Registration = Schema.Struct({
  registerConnector: Schema.Struct({
    id: Schema.String,
    connector_state: Schema.NullOr(Schema.String),
    config: Schema.Struct({
      connection: Schema.Struct({
        host: Schema.String,
        vhost: Schema.String,
        use_ssl: Schema.Boolean,
        port: Schema.Number,
        user: Schema.String,
        pass: Schema.String
      }),
      push_exchange: Schema.String,
      push_routing: Schema.String
    }),
    connector_user_id: Schema.NullOr(Schema.String)
  })
})

/** What the platform answers a registration: the stored state and where to publish bundles. */
export interface Registration {
  readonly connectorState: string | null
  readonly connection: { readonly host: string; readonly vhost: string; readonly useSsl: boolean; readonly port: number; readonly user: string; readonly pass: string }
  readonly pushExchange: string
  readonly pushRouting: string
  readonly applicantId: string | null
}

const Ping = Schema.Struct({ pingConnector: Schema.NullOr(Schema.Struct({ connector_state: Schema.NullOr(Schema.String) })) })
const WorkAdded = Schema.Struct({ workAdd: Schema.Struct({ id: Schema.String }) })
const WorkEdited = Schema.Struct({ workEdit: Schema.NullOr(Schema.Unknown) })
const BundlePushed = Schema.Struct({ stixBundlePush: Schema.NullOr(Schema.Boolean) })
const OrganizationAdded = Schema.Struct({ organizationAdd: Schema.Struct({ id: Schema.String, standard_id: Schema.String }) })
const VulnerabilityModified = Schema.NullOr(Schema.Struct({ standard_id: Schema.String, x_opencti_modified_at: Schema.NullOr(Schema.String) }))
const VulnerabilitiesModified = Schema.Record(Schema.String, VulnerabilityModified)
const NotesPage = Schema.Struct({
  notes: Schema.NullOr(Schema.Struct({
    edges: Schema.Array(Schema.Struct({ node: Schema.Struct({ attribute_abstract: Schema.NullOr(Schema.String) }) })),
    pageInfo: Schema.Struct({ endCursor: Schema.NullOr(Schema.String), hasNextPage: Schema.Boolean })
  }))
})

/** Look-up documents in flight at once when a bundle needs more than one. */
const lookupConcurrency = 8

/** The connector's side of the OpenCTI API: registration, heartbeat, works, bundles and the look-ups the transforms need. */
export class OpenCti extends Context.Service<OpenCti, {
  readonly register: Effect.Effect<Registration, OpenCtiError>
  /** Sends the state (a JSON string) and returns the state the platform now holds. */
  readonly ping: (state: string) => Effect.Effect<string | null, OpenCtiError>
  readonly workAdd: (friendlyName: string) => Effect.Effect<string, OpenCtiError>
  readonly workToProcessed: (workId: string, message: string, inError: boolean) => Effect.Effect<void, OpenCtiError>
  readonly workAddExpectations: (workId: string, expectations: number) => Effect.Effect<void, OpenCtiError>
  readonly pushBundle: (bundle: string, workId: string) => Effect.Effect<void, OpenCtiError>
  /** Creates (or finds: the platform upserts) an organization; returns its standard id. */
  readonly createOrganization: (name: string) => Effect.Effect<string, OpenCtiError>
  /**
   * For each standard id, the platform's `x_opencti_modified_at` (null when unknown). The ids go out as
   * aliases of `vulnerability(id:)`, as many per document as OPENCTI_QUERY_ALIAS_LIMIT allows, the
   * documents in parallel: one round trip when the platform's batching protection allows the whole bundle.
   */
  readonly vulnerabilitiesModifiedAt: (standardIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, string | null>, OpenCtiError>
  /** The abstracts among these that some note on the platform already has. */
  readonly existingNoteAbstracts: (abstracts: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, OpenCtiError>
  /** Downloads a file the platform serves under `/storage/get/...`. */
  /** A file of the platform; larger than `maxBytes`, it is refused as it arrives (not retried). */
  readonly download: (path: string, maxBytes: number) => Effect.Effect<Uint8Array, OpenCtiError>
}>()("opencti-connectors/opencti/OpenCti") {
  /** Over the HttpClient in context: the platform's (PlatformHttp) in production. */
  static readonly layer = Layer.effect(
    OpenCti,
    Effect.gen(function*() {
      const config = yield* OpenCtiConfig
      const { execute, download } = yield* makeGraphqlTransport(config)
      const connectorInfo = {
        run_and_terminate: config.runAndTerminate,
        buffering: false,
        queue_threshold: 500,
        queue_messages_size: 0,
        next_run_datetime: null,
        last_run_datetime: null
      }

      const register = execute("registerConnector", Documents.registerConnector, {
        input: {
          id: config.connectorId,
          name: config.connectorName,
          type: config.connectorType,
          scope: config.scope,
          auto: false,
          auto_update: false,
          enrichment_resolution: "none",
          only_contextual: false,
          playbook_compatible: false,
          listen_callback_uri: null
        }
      }, Registration).pipe(
        Effect.map(({ registerConnector: answer }): Registration => ({
          connectorState: answer.connector_state,
          connection: { ...answer.config.connection, useSsl: answer.config.connection.use_ssl },
          pushExchange: answer.config.push_exchange,
          pushRouting: answer.config.push_routing,
          applicantId: answer.connector_user_id
        }))
      )

      const existingNoteAbstracts = Effect.fn("OpenCti.existingNoteAbstracts")(function*(abstracts: ReadonlyArray<string>) {
        const found = new Set<string>()
        if (abstracts.length === 0) return found
        const filters = { mode: "and", filters: [{ key: ["attribute_abstract"], values: abstracts, operator: "eq", mode: "or" }], filterGroups: [] }
        let after: string | null = null
        do {
          const page: typeof NotesPage.Type = yield* execute("notes", Documents.notesByAbstract, { filters, first: Math.max(abstracts.length, 100), after }, NotesPage)
          for (const edge of page.notes?.edges ?? []) if (edge.node.attribute_abstract !== null) found.add(edge.node.attribute_abstract)
          after = page.notes?.pageInfo.hasNextPage === true ? page.notes.pageInfo.endCursor : null
        } while (after !== null)
        return found
      })

      return OpenCti.of({
        register,
        ping: (state) =>
          execute("pingConnector", Documents.pingConnector, { id: config.connectorId, state, connectorInfo }, Ping).pipe(
            Effect.map((answer) => answer.pingConnector?.connector_state ?? null)
          ),
        workAdd: (friendlyName) =>
          execute("workAdd", Documents.workAdd, { connectorId: config.connectorId, friendlyName }, WorkAdded).pipe(Effect.map((answer) => answer.workAdd.id)),
        workToProcessed: (workId, message, inError) =>
          Effect.asVoid(execute("workToProcessed", Documents.workToProcessed, { id: workId, message, inError }, WorkEdited)),
        workAddExpectations: (workId, expectations) =>
          Effect.asVoid(execute("addExpectations", Documents.addExpectations, { id: workId, expectations }, WorkEdited)),
        pushBundle: (bundle, workId) =>
          execute("stixBundlePush", Documents.stixBundlePush, { connectorId: config.connectorId, bundle, work_id: workId }, BundlePushed).pipe(
            Effect.flatMap((answer) =>
              // Only `true` is an acceptance: `null` (an error swallowed on the way) delivered nothing either.
              answer.stixBundlePush === true
                ? Effect.void
                : Effect.fail(new OpenCtiError({ operation: "stixBundlePush", status: 200, retryable: false, message: `the platform answered ${String(answer.stixBundlePush)}: the bundle was not accepted` }))
            )
          ),
        createOrganization: (name) =>
          execute("organizationAdd", Documents.organizationAdd, { input: { name, update: false } }, OrganizationAdded).pipe(
            Effect.map((answer) => answer.organizationAdd.standard_id)
          ),
        vulnerabilitiesModifiedAt: (standardIds) =>
          Effect.forEach(Arr.chunksOf(standardIds, config.queryAliasLimit), (ids) => {
            const variables = Object.fromEntries(ids.map((id, index) => [`id${index}`, id]))
            return execute("vulnerabilities", Documents.vulnerabilitiesModifiedAt(ids.length), variables, VulnerabilitiesModified).pipe(
              Effect.map((answer) => ids.map((id, index) => [id, answer[`v${index}`]?.x_opencti_modified_at ?? null] as const))
            )
          }, { concurrency: lookupConcurrency }).pipe(Effect.map((chunks) => new Map(chunks.flat()))),
        existingNoteAbstracts,
        download
      })
    })
  )

  /** The real client over a stub transport: `answer` plays the platform for each request (GraphQL and downloads). */
  static readonly layerTest = (answer: (request: HttpClientRequest.HttpClientRequest, url: URL) => Effect.Effect<Response>) =>
    OpenCti.layer.pipe(Layer.provide(Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request, url) => Effect.map(answer(request, url), (response) => HttpClientResponse.fromWeb(request, response)))
    )))
}
