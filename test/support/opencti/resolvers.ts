import { Predicate } from "effect"
import type { GraphQLSchema } from "graphql"
import type { PushFailure } from "./BundlePushes.js"
import { noConnector, type RegisterConnectorInput } from "./Connectors.js"
import { authRequired, checkName, notServed, platformError } from "./errors.js"
import type { IdentityRecord } from "./Knowledge.js"
import { type FilterGroup, filterNotes } from "./noteFilters.js"
import type { Platform } from "./Platform.js"
import type { WorkErrorInput } from "./Works.js"
import { connectionOf, connectorView, identityView, noteView, vulnerabilityView, workView } from "./views.js"

/** Per-request context given to every resolver. */
export interface RequestContext {
  readonly authenticated: boolean
  /** Outcomes decided for this request's `stixBundlePush` fields, consumed in document order. */
  readonly pushOutcomes: Array<PushFailure | undefined>
}

type Resolver = (args: Record<string, unknown>, context: RequestContext) => unknown

// Every root field carries `@auth`: without a user the platform answers AUTH_REQUIRED per field.
const authenticated = <A extends object>(resolve: (args: A, context: RequestContext) => unknown): Resolver =>
(args, context) => {
  if (!context.authenticated) throw authRequired()
  return resolve(args as A, context)
}

interface IdentityInput {
  readonly name: string
  readonly [field: string]: unknown
}

const IDENTITY_TYPES: ReadonlyArray<IdentityRecord["entity_type"]> = ["Organization", "Individual", "Sector", "System"]

/** `stixBundlePush` as `sendStixBundle` checks it; any failure is re-thrown as "Invalid bundle". */
const pushBundle = (
  platform: Platform,
  args: { readonly connectorId: string; readonly bundle: string; readonly work_id?: string | null },
  failure: PushFailure | undefined
): Promise<boolean> | null => {
  if (failure?.kind === "null") return null
  if (failure?.kind === "graphql") {
    throw platformError(failure.code ?? "UNSUPPORTED_ERROR", failure.message ?? "Invalid bundle")
  }
  const invalid = (cause: string) => platformError("UNSUPPORTED_ERROR", "Invalid bundle", { cause })
  let parsed: unknown
  try {
    parsed = JSON.parse(args.bundle)
  } catch (error) {
    throw invalid(String(error))
  }
  if (!Predicate.isObject(parsed) || parsed["type"] !== "bundle") throw invalid("Bundle type must be bundle")
  const objects = parsed["objects"]
  if (!Array.isArray(objects) || objects.length === 0) throw invalid("Bundle must contain objects")
  const connector = platform.connectors.get(args.connectorId)
  if (connector === undefined) throw invalid(noConnector(args.connectorId).message)
  let workId = args.work_id ?? ""
  if (workId === "") {
    const work = platform.works.add(connector.id, `${connector.name} run @ ${new Date().toISOString()}`)
    if (objects.length === 1) platform.works.addExpectations(work.id, 1)
    workId = work.id
  }
  platform.works.get(workId)?.bundles.push(args.bundle)
  const accepted = {
    connectorId: connector.id,
    workId,
    raw: args.bundle,
    objectCount: objects.length,
    at: new Date().toISOString()
  }
  platform.pushes.record(accepted)
  return platform.pushes.beforeAnswer(accepted).then(() => true)
}

const workEdit = (platform: Platform, id: string) => ({
  toReceived: (args: { readonly message?: string | null }) => {
    platform.works.toReceived(id, args.message ?? null)
    return id
  },
  toProcessed: (args: { readonly message?: string | null; readonly inError?: boolean | null }) => {
    platform.works.toProcessed(id, args.message ?? null, args.inError ?? false)
    return id
  },
  addExpectations: (args: { readonly expectations?: number | null }) => {
    platform.works.addExpectations(id, args.expectations ?? 0)
    return id
  },
  reportExpectation: (args: { readonly error?: WorkErrorInput | null }) => {
    platform.works.reportExpectation(id, args.error ?? null)
    return id
  },
  ping: () => {
    if (!platform.works.ping(id)) throw platformError("UNKNOWN_ERROR", `Work ${id} not found`)
    return id
  },
  addDraftContext: () => {
    throw notServed("WorkEditMutations.addDraftContext")
  },
  delete: () => {
    throw notServed("WorkEditMutations.delete")
  }
})

/** Root value for `graphql.execute`: one function per Query/Mutation field of the schema. */
export const rootResolvers = (platform: Platform, schema: GraphQLSchema): Record<string, Resolver> => {
  const identityAdd = (entityType: IdentityRecord["entity_type"], input: IdentityInput, minLength: number) => {
    checkName("name", input.name, minLength)
    return identityView(platform.knowledge.upsertIdentity(entityType, input.name, input))
  }
  const served: Record<string, Resolver> = {
    about: authenticated(() => ({ version: platform.version })),
    registerConnector: authenticated((args: { readonly input: RegisterConnectorInput }) => {
      checkName("name", args.input.name, 2)
      return connectorView(platform.connectors.register(args.input), platform)
    }),
    pingConnector: authenticated((args: { id: string; state?: string | null; connectorInfo?: unknown }) =>
      connectorView(platform.connectors.ping(args.id, args.state, args.connectorInfo), platform)
    ),
    resetStateConnector: authenticated((args: { readonly id: string }) =>
      connectorView(platform.connectors.resetState(args.id), platform)
    ),
    deleteConnector: authenticated((args: { readonly id: string }) => {
      platform.connectors.delete(args.id)
      return args.id
    }),
    connector: authenticated((args: { readonly id: string }) => {
      const connector = platform.connectors.get(args.id)
      return connector === undefined ? null : connectorView(connector, platform)
    }),
    workAdd: authenticated((args: { readonly connectorId: string; readonly friendlyName?: string | null }) =>
      workView(platform.works.add(args.connectorId, args.friendlyName ?? null), platform)
    ),
    workEdit: authenticated((args: { readonly id: string }) => workEdit(platform, args.id)),
    work: authenticated((args: { readonly id: string }) => {
      const work = platform.works.get(args.id)
      return work === undefined ? null : workView(work, platform)
    }),
    isWorkAlive: authenticated((args: { readonly id: string }) => platform.works.get(args.id)?.status === "progress"),
    stixBundlePush: authenticated(
      (args: { readonly connectorId: string; readonly bundle: string; readonly work_id?: string | null }, context) =>
        pushBundle(platform, args, context.pushOutcomes.shift())
    ),
    organizationAdd: authenticated((args: { readonly input: IdentityInput }) =>
      identityAdd("Organization", args.input, 2)
    ),
    identityAdd: authenticated((args: { readonly input: IdentityInput & { readonly type: string } }) => {
      const entityType = IDENTITY_TYPES.find((type) => type === args.input.type)
      if (entityType === undefined) throw platformError("UNSUPPORTED_ERROR", `Unknown identity type ${args.input.type}`)
      return identityAdd(entityType, args.input, 1)
    }),
    vulnerability: authenticated((args: { readonly id?: string | null }) => {
      const vulnerability = args.id === null || args.id === undefined
        ? undefined
        : platform.knowledge.vulnerability(args.id)
      return vulnerability === undefined ? null : vulnerabilityView(vulnerability)
    }),
    notes: authenticated((args: { filters?: FilterGroup | null; first?: number | null; after?: string | null }) =>
      connectionOf(filterNotes(platform.knowledge.notes, args.filters), (note) => noteView(note, platform), {
        first: args.first ?? 500,
        after: args.after
      })
    )
  }
  const rootFields = [schema.getQueryType(), schema.getMutationType()].flatMap((type) =>
    type === null || type === undefined ? [] : Object.keys(type.getFields())
  )
  return Object.fromEntries(
    rootFields.map((field) => [field, served[field] ?? authenticated(() => { throw notServed(field) })])
  )
}
