import type { ConnectorRecord } from "./Connectors.js"
import type { IdentityRecord, NoteRecord, VulnerabilityRecord } from "./Knowledge.js"
import type { Platform } from "./Platform.js"
import type { WorkMessage, WorkRecord } from "./Works.js"

// Records rendered as GraphQL objects. Fields left out resolve to null; `__typename` picks the
// concrete type behind interfaces and unions.

const STIX_DOMAIN_PARENTS = ["Basic-Object", "Stix-Object", "Stix-Core-Object", "Stix-Domain-Object"]

const pageInfo = (
  globalCount: number,
  startCursor = "",
  endCursor = "",
  hasNextPage = false,
  hasPreviousPage = false
) => ({ startCursor, endCursor, hasNextPage, hasPreviousPage, globalCount })

export const emptyConnection = () => ({ pageInfo: pageInfo(0), edges: [] })

/** A cursor connection over `items`, paged by `first` and an `after` cursor. */
export const connectionOf = <A, B>(
  items: ReadonlyArray<A>,
  render: (item: A) => B,
  page: { readonly first: number; readonly after: string | null | undefined }
) => {
  const start = page.after === null || page.after === undefined
    ? 0
    : Number(Buffer.from(page.after, "base64").toString()) + 1
  const slice = items.slice(start, start + page.first)
  const cursor = (index: number): string => Buffer.from(String(start + index)).toString("base64")
  return {
    pageInfo: pageInfo(
      items.length,
      slice.length > 0 ? cursor(0) : "",
      slice.length > 0 ? cursor(slice.length - 1) : "",
      start + slice.length < items.length,
      start > 0
    ),
    edges: slice.map((item, index) => ({ cursor: cursor(index), node: render(item) }))
  }
}

const connectorFields = (connector: ConnectorRecord, platform: Platform) => ({
  id: connector.id,
  standard_id: `connector--${connector.id}`,
  entity_type: "Connector",
  parent_types: ["Basic-Object", "Internal-Object"],
  name: connector.name,
  title: connector.name,
  active: true,
  auto: connector.input.auto ?? false,
  auto_update: connector.input.auto_update ?? false,
  enrichment_resolution: connector.input.enrichment_resolution ?? null,
  only_contextual: connector.input.only_contextual ?? false,
  playbook_compatible: connector.input.playbook_compatible ?? false,
  connector_type: connector.type,
  connector_scope: connector.scope,
  connector_state: connector.state,
  connector_state_reset: connector.stateReset,
  connector_state_timestamp: connector.updatedAt,
  connector_user_id: platform.userId,
  connector_queue_details: { messages_number: 0, messages_size: 0 },
  connector_info: connector.info,
  connector_priority_group: "DEFAULT",
  updated_at: connector.updatedAt,
  created_at: connector.createdAt,
  config: {
    connection: platform.rabbitmq,
    listen: `listen_${connector.id}`,
    listen_routing: `listen_routing_${connector.id}`,
    listen_exchange: "amqp.connector.exchange",
    listen_callback_uri: connector.input.listen_callback_uri ?? null,
    push: `push_${connector.id}`,
    push_routing: `push_routing_${connector.id}`,
    push_exchange: "amqp.worker.exchange",
    dead_letter_routing: "dead_letter_routing"
  },
  built_in: false
})

export const connectorView = (connector: ConnectorRecord, platform: Platform) => ({
  ...connectorFields(connector, platform),
  works: platform.works.ofConnector(connector.id).map((work) => workView(work, platform))
})

const messagesView = (messages: ReadonlyArray<WorkMessage>) =>
  messages.map((message, sequence) => ({ ...message, sequence }))

export const workView = (work: WorkRecord, platform: Platform) => {
  const connector = platform.connectors.get(work.connectorId)
  return {
    id: work.id,
    name: work.name,
    connector: connector === undefined ? null : { ...connectorFields(connector, platform), works: [] },
    timestamp: work.createdAt,
    status: work.status,
    received_time: work.receivedTime,
    processed_time: work.processedTime,
    completed_time: work.completedTime,
    completed_number: work.status === "complete" ? Math.max(work.processed, 1) : 0,
    messages: messagesView(work.messages),
    errors: messagesView(work.errors),
    tracking: { import_expected_number: work.expectations, import_processed_number: work.processed }
  }
}

export const identityView = (identity: IdentityRecord) => ({
  __typename: identity.entity_type,
  id: identity.id,
  standard_id: identity.standard_id,
  entity_type: identity.entity_type,
  parent_types: [...STIX_DOMAIN_PARENTS, "Identity"],
  spec_version: "2.1",
  created_at: identity.created_at,
  updated_at: identity.created_at,
  created: identity.created_at,
  modified: identity.created_at,
  objectLabel: [],
  identity_class: identity.identity_class,
  name: identity.name
})

/** The fields every domain object view has, all dated `at`. */
const domainObjectFields = (at: string) => ({
  spec_version: "2.1",
  created_at: at,
  updated_at: at,
  created: at,
  modified: at,
  revoked: false,
  confidence: 100,
  lang: "en",
  objectMarking: [],
  objectOrganization: [],
  objectLabel: [],
  externalReferences: emptyConnection(),
  importFiles: emptyConnection()
})

export const vulnerabilityView = (vulnerability: VulnerabilityRecord) => ({
  ...domainObjectFields(vulnerability.x_opencti_modified_at),
  ...vulnerability.fields,
  __typename: "Vulnerability",
  id: vulnerability.id,
  standard_id: vulnerability.standard_id,
  entity_type: "Vulnerability",
  parent_types: STIX_DOMAIN_PARENTS,
  name: vulnerability.name ?? vulnerability.standard_id,
  x_opencti_modified_at: vulnerability.x_opencti_modified_at
})

export const noteView = (note: NoteRecord, platform: Platform) => {
  const objects = note.objectRefs.flatMap((ref) => {
    const vulnerability = platform.knowledge.vulnerability(ref)
    return vulnerability === undefined ? [] : [vulnerability]
  })
  return {
    __typename: "Note",
    id: note.id,
    standard_id: note.standard_id,
    entity_type: "Note",
    parent_types: [...STIX_DOMAIN_PARENTS, "Container"],
    ...domainObjectFields(note.created_at),
    objects: {
      pageInfo: pageInfo(objects.length),
      edges: objects.map((vulnerability) => ({
        cursor: vulnerability.id,
        types: ["manual"],
        node: vulnerabilityView(vulnerability)
      }))
    },
    attribute_abstract: note.abstract,
    content: note.content,
    authors: note.authors,
    note_types: note.note_types
  }
}
