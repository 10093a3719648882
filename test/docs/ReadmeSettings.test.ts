import { assert, describe, it } from "vitest"
import { amqpSettings } from "../../src/amqp/AmqpConfig.js"
import { openCtiSettings } from "../../src/config/OpenCtiConfig.js"
import type { Setting } from "../../src/config/Setting.js"
import * as S3ImportApp from "../../src/s3-import/S3ImportApp.js"
import { s3ImportSettings } from "../../src/s3-import/S3ImportConfig.js"
import * as StreamExportApp from "../../src/stream-export/StreamExportApp.js"
import * as StreamImportApp from "../../src/stream-import/StreamImportApp.js"
import { streamImportSettings } from "../../src/stream-import/StreamImportConfig.js"
import { streamExportSettings } from "../../src/stream-export/StreamExportConfig.js"
import { readmeTable } from "./readmeTables.js"

const defaults = (settings: ReadonlyArray<Setting<unknown>>): Map<string, string> =>
  new Map(settings.map((setting) => [setting.name, setting.defaultText]))

const connectorSpecific = new Set(["CONNECTOR_NAME", "CONNECTOR_SCOPE", "CONNECTOR_LOG_LEVEL"])

const tables: ReadonlyArray<readonly [string, Map<string, string>]> = [
  ["common", new Map([
    ...defaults(Object.values(openCtiSettings({ name: "", scope: [] })).filter((setting) => !connectorSpecific.has(setting.name))),
    ["CONFIG_FILE", "config.yml"]
  ])],
  ["s3-import", defaults([
    ...Object.values(openCtiSettings(S3ImportApp.connectorDefaults)).filter((setting) => connectorSpecific.has(setting.name)),
    ...Object.values(s3ImportSettings)
  ])],
  ["amqp", defaults(Object.values(amqpSettings))],
  ["stream-export", defaults([
    ...Object.values(openCtiSettings(StreamExportApp.connectorDefaults)).filter((setting) => connectorSpecific.has(setting.name)),
    ...Object.values(streamExportSettings)
  ])],
  ["stream-import", defaults([
    ...Object.values(openCtiSettings(StreamImportApp.connectorDefaults)).filter((setting) => connectorSpecific.has(setting.name)),
    ...Object.values(streamImportSettings)
  ])]
]

describe("README configuration tables", () => {
  it.each(tables)("the %s table lists every variable of the code, with its default", (name, expected) => {
    const documented = readmeTable(name)
    assert.deepStrictEqual([...documented.keys()].sort(), [...expected.keys()].sort())
    for (const [variable, defaultText] of expected) {
      assert.strictEqual(documented.get(variable), defaultText, `default of ${variable}`)
    }
  })
})
