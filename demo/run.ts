import { startOpenCtiStandIn } from "../test/support/OpenCtiStandIn.js"
import { startS3Server } from "../test/support/S3Server.js"
import { demoS3Import } from "./s3Import.js"
import { demoStreamExport } from "./streamExport.js"
import { demoStreamImport } from "./streamImport.js"

/**
 * The connectors on an embedded default: a local S3-compatible server and an OpenCTI stand-in, both
 * on 127.0.0.1, with sample data; the connectors run as they would in a container (`node dist/main.js`).
 * The sync ends on a second stand-in (platform B) and a local RabbitMQ when rabbitmq-server is installed.
 */
const token = "demo-token"
const s3 = await startS3Server()
const openCti = await startOpenCtiStandIn({ token })
try {
  const connectorEnv = {
    OPENCTI_URL: openCti.url,
    OPENCTI_TOKEN: token,
    CONNECTOR_QUEUE_PROTOCOL: "api",
    CONNECTOR_LOG_LEVEL: "error"
  }
  await demoS3Import(s3, openCti, connectorEnv)
  await demoStreamExport(s3, openCti, connectorEnv)
  await demoStreamImport(s3, connectorEnv)
  openCti.assertNoInvalidDocuments()
} finally {
  await openCti.close()
  await s3.close()
}
