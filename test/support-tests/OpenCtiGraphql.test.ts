import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { describe } from "vitest"
import { openCtiStandInScoped } from "../support/OpenCtiStandIn.js"
import { gql, postGraphql, TOKEN, withStandIn } from "./standInClient.js"

interface PyctiDocument {
  readonly query_exact: string
  readonly example_variables: Record<string, unknown>
}

const pyctiDocuments = JSON.parse(
  readFileSync(new URL("../fixtures/pycti-graphql-documents.json", import.meta.url), "utf8")
) as Record<string, PyctiDocument>

const pycti = (name: string): PyctiDocument => {
  const document = pyctiDocuments[name]
  if (document === undefined) throw new Error(`no pycti document ${name}`)
  return document
}

const CONNECTOR_ID = "11111111-2222-4333-8444-555555555555"

const register = (standIn: Parameters<typeof gql>[0], input: Record<string, unknown> = {}) =>
  gql(standIn, pycti("mutation RegisterConnector").query_exact, {
    input: { ...pycti("mutation RegisterConnector").example_variables["input"] as object, ...input }
  })

const bundle = (objects: number) =>
  JSON.stringify({
    type: "bundle",
    id: "bundle--aaaaaaaa-0000-4000-8000-000000000000",
    spec_version: "2.1",
    objects: Array.from({ length: objects }, (_, i) => ({
      type: "vulnerability",
      spec_version: "2.1",
      id: `vulnerability--11111111-0000-5000-8000-00000000000${i}`,
      name: `CVE-${i}`
    }))
  })

const PUSH = pycti("mutation StixBundlePush").query_exact

describe("OpenCTI stand-in GraphQL", () => {
  it("accepts every pycti document of the subset with its captured variables", () =>
    withStandIn({}, async (standIn) => {
      const registered = await register(standIn)
      assert.deepStrictEqual(registered.body.errors, undefined)
      for (const [name, document] of Object.entries(pyctiDocuments)) {
        const answer = await gql(standIn, document.query_exact, document.example_variables)
        assert.strictEqual(answer.status, 200, name)
        assert.deepStrictEqual(answer.body.errors, undefined, name)
      }
      assert.deepStrictEqual(standIn.invalidDocuments, [])
      standIn.assertNoInvalidDocuments()
      assert.strictEqual(standIn.calls.length, Object.keys(pyctiDocuments).length + 1)
      assert.deepStrictEqual(standIn.callsTo("stixBundlePush").map((call) => call.operationName), ["StixBundlePush"])
      assert.strictEqual(standIn.calls[0]?.headers["user-agent"], "pycti/6.8.10")
    }))

  it("answers registration with the connection, queues and user, and keeps the state across registrations", () =>
    withStandIn({ rabbitmq: { port: 25672, user: "opencti" }, userId: "user-1" }, async (standIn) => {
      const first = await register(standIn)
      assert.deepStrictEqual(first.body.data?.["registerConnector"], {
        id: CONNECTOR_ID,
        connector_state: null,
        config: {
          connection: { host: "127.0.0.1", vhost: "/", use_ssl: false, port: 25672, user: "opencti", pass: "guest" },
          listen: `listen_${CONNECTOR_ID}`,
          listen_routing: `listen_routing_${CONNECTOR_ID}`,
          listen_exchange: "amqp.connector.exchange",
          push: `push_${CONNECTOR_ID}`,
          push_routing: `push_routing_${CONNECTOR_ID}`,
          push_exchange: "amqp.worker.exchange"
        },
        connector_user_id: "user-1"
      })
      const ping = pycti("mutation PingConnector")
      const state = JSON.stringify({ start_from: "1730000000000-0" })
      const pinged = await gql(standIn, ping.query_exact, { ...ping.example_variables, state })
      assert.strictEqual((pinged.body.data?.["pingConnector"] as { connector_state: string }).connector_state, state)
      const again = await register(standIn, { name: "Renamed" })
      assert.strictEqual((again.body.data?.["registerConnector"] as { connector_state: string }).connector_state, state)
      assert.strictEqual(standIn.connectors.get(CONNECTOR_ID)?.name, "Renamed")
      assert.strictEqual(standIn.connectors.get(CONNECTOR_ID)?.registrations, 2)
    }))

  it("scripts a remote state reset seen on the next ping, as the platform does", () =>
    withStandIn({}, async (standIn) => {
      await register(standIn)
      const ping = pycti("mutation PingConnector")
      const stateOf = async (state: string) => {
        const answer = await gql(standIn, ping.query_exact, { ...ping.example_variables, state })
        return (answer.body.data?.["pingConnector"] as { connector_state: string | null }).connector_state
      }
      assert.strictEqual(await stateOf("{\"start_from\":\"1-0\"}"), "{\"start_from\":\"1-0\"}")
      standIn.connectors.resetState(CONNECTOR_ID)
      assert.strictEqual(await stateOf("{\"start_from\":\"2-0\"}"), "")
      assert.strictEqual(await stateOf("null"), "null")
      assert.deepStrictEqual(standIn.connectors.get(CONNECTOR_ID)?.pings.map((p) => p.state), [
        "{\"start_from\":\"1-0\"}",
        "{\"start_from\":\"2-0\"}",
        "null"
      ])
      const reset = await gql(standIn, "mutation($id: ID!) { resetStateConnector(id: $id) { connector_state } }", {
        id: CONNECTOR_ID
      })
      assert.deepStrictEqual(reset.body.data, { resetStateConnector: { connector_state: "" } })
      assert.strictEqual(await stateOf("{\"start_from\":\"3-0\"}"), "")
      const deleted = await gql(standIn, "mutation($id: ID!) { deleteConnector(id: $id) }", { id: CONNECTOR_ID })
      assert.deepStrictEqual(deleted.body.data, { deleteConnector: CONNECTOR_ID })
      assert.strictEqual(standIn.connectors.get(CONNECTOR_ID), undefined)
    }))

  it("registers a seeded connector with the state saved by an earlier run", () =>
    withStandIn({}, async (standIn) => {
      standIn.connectors.seed({ id: CONNECTOR_ID, name: "S3 Bucket", type: "EXTERNAL_IMPORT", state: "{\"last\":1}" })
      const registered = await register(standIn)
      assert.strictEqual(
        (registered.body.data?.["registerConnector"] as { connector_state: string }).connector_state,
        "{\"last\":1}"
      )
      assert.strictEqual(standIn.connectors.get(CONNECTOR_ID)?.registrations, 1)
      const read = await gql(standIn, pycti("query GetConnector").query_exact, { id: CONNECTOR_ID })
      assert.deepInclude(read.body.data?.["connector"] as object, {
        name: "S3 Bucket",
        connector_type: "EXTERNAL_IMPORT",
        connector_scope: ["not-applicable"],
        connector_state: "{\"last\":1}",
        built_in: false
      })
    }))

  it("answers pings of an unknown connector with FUNCTIONAL_ERROR", () =>
    withStandIn({}, async (standIn) => {
      const ping = pycti("mutation PingConnector")
      const answer = await gql(standIn, ping.query_exact, ping.example_variables)
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.body.errors?.[0]?.message, "No connector found with the specified ID")
      assert.deepStrictEqual(answer.body.errors?.[0]?.extensions, {
        code: "FUNCTIONAL_ERROR",
        data: { http_status: 400, genre: "BUSINESS", id: CONNECTOR_ID }
      })
      assert.deepStrictEqual(answer.body.data, { pingConnector: null })
    }))

  it("records works: expectations, reports, messages and completion", () =>
    withStandIn({}, async (standIn) => {
      await register(standIn)
      const add = pycti("mutation workAdd")
      const workId = async () => {
        const answer = await gql(standIn, add.query_exact, add.example_variables)
        return (answer.body.data?.["workAdd"] as { id: string }).id
      }
      assert.deepStrictEqual([await workId(), await workId()], ["work_1", "work_2"])
      const edit = (name: string, variables: Record<string, unknown>) =>
        gql(standIn, pycti(name).query_exact, { ...pycti(name).example_variables, ...variables })
      await edit("mutation workToReceived", { id: "work_1" })
      await edit("mutation addExpectations", { id: "work_1", expectations: 2 })
      await edit("mutation workToProcessed", { id: "work_1", message: "1 file(s) ingested" })
      assert.strictEqual(standIn.works.get("work_1")?.status, "progress")
      await edit("mutation reportExpectation", { id: "work_1", error: null })
      await edit("mutation reportExpectation", { id: "work_1" })
      const work = standIn.works.get("work_1")
      assert.strictEqual(work?.status, "complete")
      assert.strictEqual(work?.name, "S3/ACI_TI run @ 2024-01-01T00:00:00+00:00")
      assert.deepStrictEqual(work?.receivedMessages, ["Connector ready to process the operation"])
      assert.deepStrictEqual(work?.toProcessed, { message: "1 file(s) ingested", inError: false })
      assert.deepStrictEqual(work?.errors.map((error) => error.message), ["boom"])
      await edit("mutation workToProcessed", { id: "work_2", message: "failed", inError: true })
      assert.deepStrictEqual(standIn.works.get("work_2")?.errors.map((error) => error.message), ["failed"])
      assert.strictEqual(standIn.works.get("work_2")?.status, "complete")
      const pinged = await gql(standIn, "mutation($id: ID!) { workEdit(id: $id) { ping } }", { id: "work_2" })
      assert.deepStrictEqual(pinged.body.data, { workEdit: { ping: "work_2" } })
      assert.strictEqual(standIn.works.get("work_2")?.pings, 1)
    }))

  it("records pushed bundles per work and rejects invalid bundles as the platform does", () =>
    withStandIn({}, async (standIn) => {
      await register(standIn)
      const pushed = await gql(standIn, PUSH, { connectorId: CONNECTOR_ID, bundle: bundle(3), work_id: "work_9" })
      assert.deepStrictEqual(pushed.body, { data: { stixBundlePush: true } })
      assert.deepStrictEqual(standIn.bundlePushes.bundles.map((b) => [b.workId, b.objectCount]), [["work_9", 3]])

      const noWork = await gql(standIn, PUSH, { connectorId: CONNECTOR_ID, bundle: bundle(1), work_id: null })
      assert.deepStrictEqual(noWork.body.errors, undefined)
      const created = standIn.works.all[0]
      assert.match(created?.name ?? "", /^S3 Bucket run @ /)
      assert.strictEqual(created?.expectations, 1)
      assert.deepStrictEqual(created?.bundles, [bundle(1)])

      for (const invalid of ["{", JSON.stringify({ type: "bundle", objects: [] }), JSON.stringify({ type: "x" })]) {
        const answer = await gql(standIn, PUSH, { connectorId: CONNECTOR_ID, bundle: invalid, work_id: null })
        assert.strictEqual(answer.body.errors?.[0]?.message, "Invalid bundle")
        assert.strictEqual(answer.body.errors?.[0]?.extensions?.code, "UNSUPPORTED_ERROR")
      }
      const unknown = await gql(standIn, PUSH, { connectorId: "nope", bundle: bundle(1), work_id: null })
      assert.strictEqual(unknown.body.errors?.[0]?.message, "Invalid bundle")
      assert.strictEqual(standIn.bundlePushes.bundles.length, 2)
    }))

  it("fails scripted bundle pushes: HTTP 500 for the next N calls, a GraphQL error on the k-th call", () =>
    withStandIn({}, async (standIn) => {
      await register(standIn)
      standIn.bundlePushes.failNext(2, { kind: "http" })
      standIn.bundlePushes.failOnCall(4, { kind: "graphql", code: "LOCK_ERROR" })
      const push = () => gql(standIn, PUSH, { connectorId: CONNECTOR_ID, bundle: bundle(1), work_id: "work_1" })
      const first = await push()
      assert.strictEqual(first.status, 500)
      assert.strictEqual(first.text, "Internal Server Error")
      assert.strictEqual((await push()).status, 500)
      assert.deepStrictEqual((await push()).body, { data: { stixBundlePush: true } })
      const fourth = await push()
      assert.strictEqual(fourth.status, 200)
      assert.strictEqual(fourth.body.errors?.[0]?.extensions?.code, "LOCK_ERROR")
      assert.strictEqual(fourth.body.errors?.[0]?.message, "Invalid bundle")
      assert.deepStrictEqual((await push()).body, { data: { stixBundlePush: true } })
      assert.strictEqual(standIn.bundlePushes.callCount, 5)
      assert.strictEqual(standIn.bundlePushes.bundles.length, 2)
      assert.deepStrictEqual(standIn.callsTo("stixBundlePush").map((call) => call.status), [500, 500, 200, 200, 200])
    }))

  it("creates the author organization with its deterministic standard id, as an upsert", () =>
    withStandIn({}, async (standIn) => {
      const add = pycti("mutation OrganizationAdd")
      const created = await gql(standIn, add.query_exact, add.example_variables)
      const organization = created.body.data?.["organizationAdd"] as Record<string, unknown>
      assert.strictEqual(organization["standard_id"], "identity--be669b67-e9bb-5a5d-900b-c56f5b2a69f7")
      assert.strictEqual(organization["entity_type"], "Organization")
      const input = add.example_variables["input"] as object
      const again = await gql(standIn, add.query_exact, { input: { ...input, name: "ACCENTURE " } })
      assert.strictEqual((again.body.data?.["organizationAdd"] as Record<string, unknown>)["id"], organization["id"])
      assert.strictEqual(standIn.knowledge.identities.length, 1)

      const tooShort = await gql(standIn, add.query_exact, { input: { ...input, name: "X" } })
      assert.strictEqual(tooShort.body.errors?.[0]?.extensions?.code, "VALIDATION_ERROR")
      const sector = await gql(
        standIn,
        `mutation($input: IdentityAddInput!) {
          identityAdd(input: $input) { standard_id entity_type ... on Sector { name } }
        }`,
        { input: { type: "Sector", name: "Energy" } }
      )
      assert.deepStrictEqual(sector.body.data?.["identityAdd"], {
        standard_id: "identity--166544e2-ba1f-5a6c-89cf-a63d0c01e91c",
        entity_type: "Sector",
        name: "Energy"
      })
    }))

  it("answers vulnerability reads, also under aliases, within the platform's batching limits", () =>
    withStandIn({}, async (standIn) => {
      standIn.knowledge.putVulnerability({
        standard_id: "vulnerability--693c68fd-9a33-5d6d-b44e-407b6a48b05b",
        name: "CVE-2021-44228",
        x_opencti_modified_at: "2024-05-01T10:00:00.000Z"
      })
      const single = pycti("query Vulnerability")
      const read = await gql(standIn, single.query_exact, { id: "vulnerability--693c68fd-9a33-5d6d-b44e-407b6a48b05b" })
      assert.strictEqual(
        (read.body.data?.["vulnerability"] as Record<string, unknown>)["x_opencti_modified_at"],
        "2024-05-01T10:00:00.000Z"
      )
      const two = await gql(
        standIn,
        `query Two($a: String!, $b: String!) {
          a: vulnerability(id: $a) { standard_id x_opencti_modified_at }
          b: vulnerability(id: $b) { standard_id x_opencti_modified_at }
        }`,
        { a: "vulnerability--693c68fd-9a33-5d6d-b44e-407b6a48b05b", b: "vulnerability--0000" }
      )
      assert.deepStrictEqual(two.body, {
        data: {
          a: {
            standard_id: "vulnerability--693c68fd-9a33-5d6d-b44e-407b6a48b05b",
            x_opencti_modified_at: "2024-05-01T10:00:00.000Z"
          },
          b: null
        }
      })
      const three = await gql(
        standIn,
        "{ a: vulnerability(id: \"1\") { id } b: vulnerability(id: \"2\") { id } c: vulnerability(id: \"3\") { id } }"
      )
      assert.strictEqual(three.status, 200)
      assert.deepStrictEqual(three.body.errors?.map((error) => [error.message, error.extensions?.code]), [
        ["Allowed number of calls for Query->vulnerability has been exceeded (max: 2)", "GRAPHQL_VALIDATION_FAILED"]
      ])
      assert.strictEqual(standIn.invalidDocuments.length, 1)
    }))

  it("answers many aliases when the batching limit is raised", () =>
    withStandIn({ batchingProtection: { query: 50, mutation: 1 } }, async (standIn) => {
      for (let i = 0; i < 40; i += 2) {
        standIn.knowledge.putVulnerability({
          standard_id: `vulnerability--${i}`,
          x_opencti_modified_at: `2024-01-01T00:00:${String(i).padStart(2, "0")}.000Z`
        })
      }
      const fields = Array.from(
        { length: 40 },
        (_, i) => `v${i}: vulnerability(id: "vulnerability--${i}") { x_opencti_modified_at }`
      )
      const answer = await gql(standIn, `query Batch { ${fields.join("\n")} }`)
      assert.deepStrictEqual(answer.body.errors, undefined)
      const data = answer.body.data ?? {}
      assert.strictEqual(Object.keys(data).length, 40)
      assert.deepStrictEqual(data["v2"], { x_opencti_modified_at: "2024-01-01T00:00:02.000Z" })
      assert.strictEqual(data["v3"], null)
      assert.deepStrictEqual(standIn.calls[0]?.fields, Array.from({ length: 40 }, () => "vulnerability"))
    }))

  it("finds notes by abstract with pycti's filters, pages them and refuses unknown filter keys", () =>
    withStandIn({}, async (standIn) => {
      standIn.knowledge.putVulnerability({
        standard_id: "vulnerability--1",
        name: "CVE-1",
        x_opencti_modified_at: "2024-01-01T00:00:00.000Z"
      })
      for (const abstract of ["X - Title", "Y - Title", "X - Title"]) {
        standIn.knowledge.addNote({ abstract, objectRefs: ["vulnerability--1"] })
      }
      const notes = pycti("query Notes")
      const list = async (variables: Record<string, unknown>) =>
        (await gql(standIn, notes.query_exact, { ...notes.example_variables, ...variables })).body
      const found = await list({})
      const connection = found.data?.["notes"] as {
        edges: Array<{ node: { attribute_abstract: string; objects: { edges: Array<{ node: { name: string } }> } } }>
        pageInfo: { hasNextPage: boolean; globalCount: number; endCursor: string }
      }
      assert.deepStrictEqual(connection.edges.map((edge) => edge.node.attribute_abstract), ["X - Title"])
      assert.deepStrictEqual(connection.edges[0]?.node.objects.edges.map((edge) => edge.node.name), ["CVE-1"])
      assert.deepStrictEqual([connection.pageInfo.hasNextPage, connection.pageInfo.globalCount], [true, 2])
      const next = await list({ after: connection.pageInfo.endCursor })
      const nextEdges = (next.data?.["notes"] as { edges: ReadonlyArray<unknown>; pageInfo: { hasNextPage: boolean } })
      assert.deepStrictEqual([nextEdges.edges.length, nextEdges.pageInfo.hasNextPage], [1, false])

      const byKey = (key: string, value: string) => ({
        mode: "and",
        filters: [{ key, values: [value] }],
        filterGroups: []
      })
      const none = await list({ filters: byKey("attribute_abstract", "Z") })
      assert.deepStrictEqual((none.data?.["notes"] as { edges: ReadonlyArray<unknown> }).edges, [])
      const unknown = await list({ filters: byKey("nope", "Z") })
      assert.strictEqual(unknown.errors?.[0]?.message, "Incorrect filter keys not existing in any schema definition")
      assert.strictEqual(unknown.errors?.[0]?.extensions?.code, "UNSUPPORTED_ERROR")

      const aliased = await gql(
        standIn,
        `query($x: FilterGroup, $y: FilterGroup) {
          x: notes(filters: $x, first: 1) { edges { node { id } } }
          y: notes(filters: $y, first: 1) { edges { node { id } } }
        }`,
        { x: byKey("attribute_abstract", "X - Title"), y: byKey("attribute_abstract", "Q") }
      )
      const data = aliased.body.data as { x: { edges: ReadonlyArray<unknown> }; y: { edges: ReadonlyArray<unknown> } }
      assert.deepStrictEqual([data.x.edges.length, data.y.edges.length], [1, 0])
    }))

  it("answers AUTH_REQUIRED in a 200 response without a valid token, as the platform does", () =>
    withStandIn({}, async (standIn) => {
      for (const token of [null, "wrong"]) {
        const health = await gql(standIn, pycti("query healthCheck").query_exact, {}, { token })
        assert.strictEqual(health.status, 200)
        assert.deepStrictEqual(health.body, {
          errors: [{
            message: "You must be logged in to do this.",
            locations: [{ line: 3, column: 21 }],
            path: ["about"],
            extensions: { code: "AUTH_REQUIRED", data: { http_status: 401, genre: "TECHNICAL" } }
          }],
          data: { about: null }
        })
      }
      const work = pycti("mutation workAdd")
      const refused = await gql(standIn, work.query_exact, work.example_variables, { token: null })
      assert.strictEqual(refused.body.data, null)
      assert.strictEqual(standIn.works.all.length, 0)
      assert.isFalse(standIn.calls[0]?.authenticated)
      assert.deepStrictEqual(standIn.invalidDocuments, [])
    }))

  it("rejects invalid documents the way the platform does and lists them", () =>
    withStandIn({}, async (standIn) => {
      const unknownField = await gql(standIn, "query { about { version build } }")
      assert.strictEqual(unknownField.status, 200)
      assert.deepStrictEqual(unknownField.body, {
        errors: [{
          message: "Cannot query field \"build\" on type \"AppInfo\".",
          locations: [{ line: 1, column: 25 }],
          extensions: { code: "GRAPHQL_VALIDATION_FAILED" }
        }]
      })
      const syntax = await gql(standIn, "query { about { version }")
      assert.strictEqual(syntax.body.errors?.[0]?.extensions?.code, "GRAPHQL_PARSE_FAILED")
      const missingVariable = await gql(standIn, pycti("mutation workAdd").query_exact, { friendlyName: "x" })
      assert.strictEqual(missingVariable.body.errors?.[0]?.extensions?.code, "BAD_USER_INPUT")
      assert.match(missingVariable.body.errors?.[0]?.message ?? "", /\$connectorId/)
      const badEnum = await gql(standIn, pycti("mutation RegisterConnector").query_exact, {
        input: { id: CONNECTOR_ID, name: "S3", type: "NOT_A_TYPE" }
      })
      assert.strictEqual(badEnum.body.errors?.[0]?.extensions?.code, "BAD_USER_INPUT")
      const noQuery = await postGraphql(standIn, { variables: {} })
      assert.strictEqual(noQuery.status, 400)
      assert.strictEqual(noQuery.body.errors?.[0]?.extensions?.code, "BAD_REQUEST")
      const notJson = await postGraphql(standIn, undefined, { rawBody: "{not json" })
      assert.strictEqual(notJson.status, 400)

      assert.strictEqual(standIn.invalidDocuments.length, 6)
      assert.throws(() => standIn.assertNoInvalidDocuments(), /6 invalid GraphQL document\(s\)/)
      assert.strictEqual(standIn.connectors.all.length, 0)
    }))

  it("answers an error naming the field for schema fields it does not serve", () =>
    withStandIn({}, async (standIn) => {
      const answer = await gql(standIn, "query { stix(id: \"x\") }")
      assert.strictEqual(answer.body.errors?.[0]?.message, "stix is not served by the OpenCTI stand-in")
      assert.deepStrictEqual(standIn.invalidDocuments, [])
      const notFound = await fetch(`${standIn.url}/nothing`)
      assert.strictEqual(notFound.status, 404)
      await notFound.body?.cancel()
    }))

  it.live("openCtiStandInScoped serves within the scope", () =>
    Effect.gen(function*() {
      const standIn = yield* openCtiStandInScoped({ token: TOKEN, version: "6.8.99" })
      const answer = yield* Effect.promise(() => gql(standIn, pycti("query healthCheck").query_exact))
      assert.deepStrictEqual(answer.body, { data: { about: { version: "6.8.99" } } })
    }))
})
