import type { IncomingMessage, ServerResponse } from "node:http"

/** The token of an `Authorization: Bearer <token>` header (capital B, one space, as the platform tests it). */
export const bearerToken = (request: IncomingMessage): string | undefined => {
  const header = request.headers.authorization
  return header?.startsWith("Bearer ") === true ? header.slice("Bearer ".length) : undefined
}

/** An option as the live stream reads it: the first query parameter of these names, else the first header. */
export const optionValue = (
  request: IncomingMessage,
  query: URLSearchParams,
  names: ReadonlyArray<string>
): string | undefined => {
  for (const name of names) {
    const fromQuery = query.get(name)
    if (fromQuery !== null) return fromQuery
  }
  for (const name of names) {
    const value = headerValue(request, name)
    if (value !== undefined) return value
  }
  return undefined
}

/** The first value of a header (`name` in lower case). */
export const headerValue = (request: IncomingMessage, name: string): string | undefined => {
  const header = request.headers[name]
  return Array.isArray(header) ? header[0] : header
}

export class BodyTooLarge extends Error {}

/** The whole body; past `limitBytes` the rest is drained and the promise fails with `BodyTooLarge`. */
export const readBody = (request: IncomingMessage, limitBytes: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    request.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size <= limitBytes) chunks.push(chunk)
    })
    request.once("end", () =>
      size > limitBytes
        ? reject(new BodyTooLarge(`request body larger than ${limitBytes} bytes`))
        : resolve(Buffer.concat(chunks))
    )
    request.once("error", reject)
  })

export const sendJson = (response: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text)
  })
  response.end(text)
}

export const sendText = (response: ServerResponse, status: number, text: string): void => {
  response.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text)
  })
  response.end(text)
}

/** A refusal with an empty body and the reason only in the status line, as the live stream refuses. */
export const refuse = (response: ServerResponse, status: number, reason: string): void => {
  response.statusCode = status
  response.statusMessage = reason
  response.end()
}
