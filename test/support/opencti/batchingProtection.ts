import { GraphQLError, type ValidationRule } from "graphql"

/** How many times one root field may appear in a document (aliases included). */
export interface BatchingLimits {
  readonly query: number
  readonly mutation: number
}

/** The platform's defaults: `app:graphql:batching_protection:query_default` 2, `mutation_default` 1. */
export const PLATFORM_BATCHING_LIMITS: BatchingLimits = { query: 2, mutation: 1 }

/** The graphql-no-alias rule the platform installs: counts each Query/Mutation field, reports once per field. */
export const batchingProtection = (limits: BatchingLimits): ValidationRule => (context) => {
  const counts = new Map<string, number>()
  return {
    Field: {
      enter(node) {
        const typeName = context.getParentType()?.name
        const max = typeName === "Query" ? limits.query : typeName === "Mutation" ? limits.mutation : undefined
        if (max === undefined) return
        const key = `${typeName}->${node.name.value}`
        const count = (counts.get(key) ?? 0) + 1
        counts.set(key, count)
        if (count === max + 1) {
          context.reportError(
            new GraphQLError(`Allowed number of calls for ${key} has been exceeded (max: ${max})`, { nodes: node })
          )
        }
      }
    }
  }
}
