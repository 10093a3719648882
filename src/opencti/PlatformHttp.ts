import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, Option, Predicate } from "effect"
import { Headers, HttpClient, HttpClientRequest } from "effect/http"
import type { HttpClientError } from "effect/http"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import type { OpenCtiConfigShape, TlsVerification } from "../config/OpenCtiConfig.js"

const tlsOptions = (tls: TlsVerification) =>
  tls._tag === "Off" ? { rejectUnauthorized: false } : tls._tag === "CaBundle" ? { ca: tls.pem } : {}

/** The variables undici's proxy agent reads a proxy from; without any of them it connects directly. */
const proxyVariables = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"] as const

const proxyConfigured = () => proxyVariables.some((name) => (process.env[name] ?? "") !== "")

/**
 * Through the proxy, undici's own proxy agent, which also honours NO_PROXY: `connect` applies to direct
 * connections, `requestTls` to the platform behind a proxy's tunnel. The npm package is loaded only
 * then, since loading it weighs on every start-up.
 */
const proxiedClient = (tls: ReturnType<typeof tlsOptions>) =>
  Effect.gen(function*() {
    // `undici` is a CommonJS module: its exports are the module's default in a bundle as in Node.
    const { EnvHttpProxyAgent } = (yield* Effect.promise(() => import("undici"))).default
    const dispatcher = yield* Effect.acquireRelease(
      Effect.sync(() => new EnvHttpProxyAgent({ connect: tls, requestTls: tls })),
      (dispatcher) => Effect.promise(() => dispatcher.destroy())
    )
    return yield* Effect.provideService(NodeHttpClient.makeUndici, NodeHttpClient.Dispatcher, dispatcher)
  })

/** Without a proxy, Node's own `http` / `https` with keep-alive agents. */
const directClient = (tls: ReturnType<typeof tlsOptions>) =>
  Effect.flatMap(NodeHttpClient.makeAgent({ keepAlive: true, ...tls }), (agent) =>
    Effect.provideService(NodeHttpClient.makeNodeHttp, NodeHttpClient.HttpAgent, agent))

/**
 * The one HTTP client every request to the platform goes through (GraphQL, file downloads, the live
 * stream): the certificate checked as OPENCTI_SSL_VERIFY says, `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY`
 * (either case) honoured, redirects not followed.
 */
export const layer = Layer.effect(
  HttpClient.HttpClient,
  Effect.gen(function*() {
    const tls = tlsOptions((yield* OpenCtiConfig).tls)
    return yield* proxyConfigured() ? proxiedClient(tls) : directClient(tls)
  })
)

/**
 * The client of the platform: paths under OPENCTI_URL, OPENCTI_CUSTOM_HEADERS on every request (a
 * header the request sets itself wins), and the token last, so that no custom header replaces it.
 */
export const platformClient = (config: OpenCtiConfigShape) => {
  const custom = Headers.fromInput(config.customHeaders)
  return Effect.map(HttpClient.HttpClient, HttpClient.mapRequest((request) =>
    request.pipe(
      HttpClientRequest.prependUrl(config.url),
      HttpClientRequest.setHeaders(Headers.merge(custom, request.headers)),
      HttpClientRequest.bearerToken(config.token)
    )))
}

const certificateCodes = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID"
])

/** The certificate error somewhere in a transport failure's chain of causes, if that is what it is. */
const certificateError = (error: unknown): Option.Option<{ readonly code: string; readonly message: string }> => {
  for (let cause = error, depth = 0; Predicate.isObject(cause) && depth < 5; cause = Predicate.hasProperty(cause, "cause") ? cause.cause : undefined, depth++) {
    if (Predicate.hasProperty(cause, "code") && Predicate.isString(cause.code) && certificateCodes.has(cause.code)) {
      return Option.some({ code: cause.code, message: Predicate.hasProperty(cause, "message") ? String(cause.message) : cause.code })
    }
  }
  return Option.none()
}

/**
 * What a request that got no answer says: a refused certificate names the settings that fix it and is
 * not worth a retry; anything else (refused connection, reset, DNS) may clear on a retry.
 */
export const describeTransportFailure = (error: HttpClientError.HttpClientError): { readonly message: string; readonly retryable: boolean } =>
  Option.match(certificateError(error), {
    onNone: () => ({ message: error.message, retryable: true }),
    onSome: ({ code, message }) => ({
      retryable: false,
      message: `the platform's TLS certificate was refused (${code}: ${message}). Certificates are verified by default ` +
        "(OPENCTI_SSL_VERIFY=true): set OPENCTI_SSL_VERIFY to the path of a PEM CA bundle that signs the platform's certificate " +
        "(or add the CA with NODE_EXTRA_CA_CERTS), or OPENCTI_SSL_VERIFY=false to not verify it"
    })
  })
