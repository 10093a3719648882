import type { OpenCtiStandIn, OpenCtiStandInOptions } from "../support/OpenCtiStandIn.js"
import { startOpenCtiStandIn } from "../support/OpenCtiStandIn.js"

export const TOKEN = "tok-123"

/** A GraphQL answer: HTTP status and the JSON body (undefined when the body is not JSON). */
export interface GraphqlAnswer {
  readonly status: number
  readonly body: {
    readonly data?: Record<string, unknown> | null
    readonly errors?: ReadonlyArray<{
      readonly message: string
      readonly locations?: ReadonlyArray<{ readonly line: number; readonly column: number }>
      readonly path?: ReadonlyArray<string | number>
      readonly extensions?: { readonly code?: string; readonly data?: Record<string, unknown> }
    }>
  }
  readonly text: string
}

export const postGraphql = async (
  standIn: OpenCtiStandIn,
  payload: unknown,
  options: { readonly token?: string | null; readonly rawBody?: string } = {}
): Promise<GraphqlAnswer> => {
  const token = options.token === undefined ? standIn.token : options.token
  const response = await fetch(`${standIn.url}/graphql`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "pycti/6.8.10",
      ...(token === null ? {} : { Authorization: `Bearer ${token}` })
    },
    body: options.rawBody ?? JSON.stringify(payload)
  })
  const text = await response.text()
  let body: GraphqlAnswer["body"] = {}
  try {
    body = JSON.parse(text) as GraphqlAnswer["body"]
  } catch {
    body = {}
  }
  return { status: response.status, body, text }
}

export const gql = (
  standIn: OpenCtiStandIn,
  query: string,
  variables: Record<string, unknown> = {},
  options: { readonly token?: string | null } = {}
): Promise<GraphqlAnswer> => postGraphql(standIn, { query, variables }, options)

/** Runs `use` against a fresh stand-in and closes it afterwards. */
export const withStandIn = async <A>(
  options: Partial<OpenCtiStandInOptions>,
  use: (standIn: OpenCtiStandIn) => Promise<A>
): Promise<A> => {
  const standIn = await startOpenCtiStandIn({ token: TOKEN, ...options })
  try {
    return await use(standIn)
  } finally {
    await standIn.close()
  }
}
