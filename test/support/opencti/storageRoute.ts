import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http"
import { basename, extname } from "node:path"
import { bearerToken, sendJson, sendText } from "./http.js"

/** One download request and its answer. */
export interface FileDownload {
  readonly fileId: string
  readonly authenticated: boolean
  readonly status: number
  readonly headers: IncomingHttpHeaders
}

// What Express's `res.attachment` derives from the extension, for the files connectors meet.
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".xml": "application/xml; charset=utf-8",
  ".pdf": "application/pdf",
  ".png": "image/png",
  ".zip": "application/zip"
}

/** `GET /storage/get/<file id>` over registered files (the id may contain slashes). */
export class StorageRoute {
  readonly downloads: Array<FileDownload> = []
  private readonly files = new Map<string, Uint8Array>()

  constructor(private readonly token: string) {}

  /** Registers a file; a string is stored as UTF-8. */
  put(fileId: string, content: string | Uint8Array): void {
    this.files.set(fileId, typeof content === "string" ? Buffer.from(content, "utf8") : content)
  }

  handle(request: IncomingMessage, response: ServerResponse, fileId: string): void {
    const authenticated = bearerToken(request) === this.token
    const content = this.files.get(fileId)
    const status = !authenticated ? 403 : content === undefined ? 503 : 200
    this.downloads.push({ fileId, authenticated, status, headers: request.headers })
    if (!authenticated) return sendText(response, 403, "Forbidden")
    // Any failure of loadFile (missing file included) is a 503 with a JSON body on the platform.
    if (content === undefined) {
      return sendJson(response, 503, { status: "error", error: "File not found or restricted" })
    }
    response.writeHead(200, {
      "Content-Disposition": `attachment; filename="${basename(fileId)}"`,
      "Content-Type": CONTENT_TYPES[extname(fileId).toLowerCase()] ?? "application/octet-stream",
      "Content-Length": content.byteLength
    })
    response.end(content)
  }
}
