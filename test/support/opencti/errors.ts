import { GraphQLError } from "graphql"

// Codes, HTTP statuses, genres and default messages of the platform's config/errors.js (6.x).
const PLATFORM_ERRORS = {
  AUTH_REQUIRED: { http_status: 401, genre: "TECHNICAL", message: "You must be logged in to do this." },
  FORBIDDEN_ACCESS: { http_status: 403, genre: "TECHNICAL", message: "You are not allowed to do this." },
  DATABASE_ERROR: { http_status: 500, genre: "TECHNICAL", message: "A database error has occurred" },
  UNKNOWN_ERROR: { http_status: 500, genre: "TECHNICAL", message: "An unknown error has occurred" },
  UNSUPPORTED_ERROR: { http_status: 500, genre: "BUSINESS", message: "Unsupported operation" },
  FUNCTIONAL_ERROR: { http_status: 400, genre: "BUSINESS", message: "Business validation" },
  VALIDATION_ERROR: { http_status: 500, genre: "BUSINESS", message: "Validation error" },
  LOCK_ERROR: {
    http_status: 500,
    genre: "BUSINESS",
    message: "Execution timeout, too many concurrent call on the same entities"
  }
} as const

export type PlatformErrorCode = keyof typeof PLATFORM_ERRORS

/** A GraphQL error shaped as the platform raises it: `extensions { code, data { http_status, genre, … } }`. */
export const platformError = (
  code: PlatformErrorCode,
  message?: string,
  data: Readonly<Record<string, unknown>> = {}
): GraphQLError => {
  const { http_status, genre, message: defaultMessage } = PLATFORM_ERRORS[code]
  return new GraphQLError(message ?? defaultMessage, { extensions: { code, data: { http_status, genre, ...data } } })
}

export const authRequired = (): GraphQLError => platformError("AUTH_REQUIRED")

/** Raised for schema fields the stand-in does not answer, so that a test sees the call instead of a null. */
export const notServed = (field: string): GraphQLError =>
  new GraphQLError(`${field} is not served by the OpenCTI stand-in`, {
    extensions: { code: "INTERNAL_SERVER_ERROR" }
  })

/** The check `@constraint(minLength: n, format: "not-blank")` makes, with graphql-constraint-directive's messages. */
export const checkName = (field: string, value: string, minLength: number): void => {
  if (value.length < minLength) {
    throw platformError("VALIDATION_ERROR", `Must be at least ${minLength} characters in length`, { field })
  }
  if (value.length > 0 && value.trim() === "") {
    throw platformError("VALIDATION_ERROR", "Value cannot have only whitespace(s)", { field })
  }
}
