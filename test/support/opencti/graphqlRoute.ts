import { Predicate } from "effect"
import {
  type DocumentNode,
  execute,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  specifiedRules,
  validate,
  type ValidationRule
} from "graphql"
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http"
import { bearerToken, BodyTooLarge, readBody, sendJson, sendText } from "./http.js"
import type { Platform } from "./Platform.js"
import { type RequestContext, rootResolvers } from "./resolvers.js"

/** One request to `POST /graphql` and what the stand-in answered. */
export interface GraphqlCall {
  /** `operationName` of the body, else the name of the operation in the document. */
  readonly operationName: string | undefined
  readonly query: string
  readonly variables: Readonly<Record<string, unknown>>
  /** Root fields of the selected operation, by field name (aliases resolved), in document order. */
  readonly fields: ReadonlyArray<string>
  readonly authenticated: boolean
  readonly headers: IncomingHttpHeaders
  readonly status: number
  readonly errors: ReadonlyArray<GraphQLFormattedError>
  /** Rejected before execution: bad envelope, syntax, schema validation, variables or operation name. */
  readonly invalid: boolean
}

// express.json() limit on the platform (`app:max_payload_body_size`, default 50mb).
const BODY_LIMIT = 50 * 1024 * 1024

const formatError = (error: GraphQLError, code?: string): GraphQLFormattedError => {
  const formatted = error.toJSON()
  const extensions = formatted.extensions ?? {}
  return { ...formatted, extensions: { ...extensions, code: extensions["code"] ?? code ?? "INTERNAL_SERVER_ERROR" } }
}

const rootFieldNames = (selectionSet: SelectionSetNode, document: DocumentNode): Array<string> =>
  selectionSet.selections.flatMap((selection) => {
    switch (selection.kind) {
      case Kind.FIELD:
        return [selection.name.value]
      case Kind.INLINE_FRAGMENT:
        return rootFieldNames(selection.selectionSet, document)
      case Kind.FRAGMENT_SPREAD: {
        const fragment = document.definitions.find(
          (definition) => definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === selection.name.value
        )
        return fragment?.kind === Kind.FRAGMENT_DEFINITION ? rootFieldNames(fragment.selectionSet, document) : []
      }
    }
  })

interface Envelope {
  readonly query: string
  readonly variables: Record<string, unknown>
  readonly operationName: string | undefined
}

type Rejection = { readonly status: number; readonly message: string; readonly code?: string }

const readEnvelope = (body: string): Envelope | Rejection => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return { status: 400, message: "Bad Request: malformed JSON body" }
  }
  if (!Predicate.isObject(json) || typeof json["query"] !== "string" || json["query"] === "") {
    return {
      status: 400,
      code: "BAD_REQUEST",
      message: "GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension."
    }
  }
  const variables = json["variables"] ?? {}
  if (!Predicate.isObject(variables)) {
    return { status: 400, code: "BAD_REQUEST", message: "`variables` in a POST body should be provided as an object." }
  }
  const operationName = typeof json["operationName"] === "string" ? json["operationName"] : undefined
  return { query: json["query"], variables, operationName }
}

/** `POST /graphql`: the platform's GraphQL pipeline over the schema subset, recording every call. */
export class GraphqlRoute {
  readonly calls: Array<GraphqlCall> = []
  private readonly rootValue: Record<string, unknown>

  constructor(
    private readonly platform: Platform,
    private readonly token: string,
    private readonly schema: GraphQLSchema,
    private readonly extraRules: ReadonlyArray<ValidationRule>
  ) {
    this.rootValue = rootResolvers(platform, schema)
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const authenticated = bearerToken(request) === this.token
    const record = (call: Omit<GraphqlCall, "authenticated" | "headers">): void => {
      this.calls.push({ ...call, authenticated, headers: request.headers })
    }
    const rejectRequest = (rejection: Rejection) => {
      const errors = rejection.code === undefined
        ? []
        : [{ message: rejection.message, extensions: { code: rejection.code } }]
      const status = rejection.status
      record({ operationName: undefined, query: "", variables: {}, fields: [], status, errors, invalid: true })
      if (errors.length > 0) sendJson(response, rejection.status, { errors })
      else sendText(response, rejection.status, rejection.message)
    }

    let body: Buffer
    try {
      body = await readBody(request, BODY_LIMIT)
    } catch (error) {
      if (error instanceof BodyTooLarge) return rejectRequest({ status: 413, message: "request entity too large" })
      throw error
    }
    const envelope = readEnvelope(body.toString("utf8"))
    if ("status" in envelope) return rejectRequest(envelope)
    const { query, variables } = envelope

    // Past the envelope, the platform answers every error with HTTP 200.
    const answerErrors = (errors: ReadonlyArray<GraphQLFormattedError>, operationName: string | undefined) => {
      record({ operationName, query, variables, fields: [], status: 200, errors, invalid: true })
      sendJson(response, 200, { errors })
    }

    let document: DocumentNode
    try {
      document = parse(query)
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error
      return answerErrors([formatError(error, "GRAPHQL_PARSE_FAILED")], envelope.operationName)
    }
    const operation = getOperationAST(document, envelope.operationName)
    const operationName = envelope.operationName ?? operation?.name?.value
    const validationErrors = validate(this.schema, document, [...specifiedRules, ...this.extraRules])
    if (validationErrors.length > 0) {
      const errors = validationErrors.map((error) => formatError(error, "GRAPHQL_VALIDATION_FAILED"))
      return answerErrors(errors, operationName)
    }
    if (operation === null || operation === undefined) {
      const message = envelope.operationName === undefined
        ? "Must provide operation name if query contains multiple operations."
        : `Unknown operation named "${envelope.operationName}".`
      return answerErrors([{ message, extensions: { code: "OPERATION_RESOLUTION_FAILURE" } }], operationName)
    }
    const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], variables)
    if (coerced.errors !== undefined) {
      return answerErrors(coerced.errors.map((error) => formatError(error, "BAD_USER_INPUT")), operationName)
    }
    await this.execute(document, operation, { operationName, query, variables }, authenticated, record, response)
  }

  private async execute(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    call: Pick<GraphqlCall, "operationName" | "query" | "variables">,
    authenticated: boolean,
    record: (call: Omit<GraphqlCall, "authenticated" | "headers">) => void,
    response: ServerResponse
  ): Promise<void> {
    const fields = rootFieldNames(operation.selectionSet, document)
    const pushOutcomes = authenticated && operation.operation === "mutation"
      ? fields.filter((field) => field === "stixBundlePush").map(() => this.platform.pushes.nextOutcome())
      : []
    const httpFailure = pushOutcomes.find((outcome) => outcome?.kind === "http")
    if (httpFailure?.kind === "http") {
      const status = httpFailure.status ?? 500
      record({ ...call, fields, status, errors: [], invalid: false })
      return sendText(response, status, httpFailure.body ?? "Internal Server Error")
    }
    const result = await execute({
      schema: this.schema,
      document,
      rootValue: this.rootValue,
      contextValue: { authenticated, pushOutcomes } satisfies RequestContext,
      variableValues: call.variables,
      operationName: call.operationName
    })
    const errors = (result.errors ?? []).map((error) => formatError(error))
    record({ ...call, fields, status: 200, errors, invalid: false })
    sendJson(response, 200, errors.length > 0 ? { errors, data: result.data } : { data: result.data })
  }
}
