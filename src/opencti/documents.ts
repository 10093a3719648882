/**
 * The GraphQL documents the connectors send. Each one validates against the platform's schema (a test
 * checks them all); selections hold only the fields the connectors read.
 */

export const registerConnector = `mutation RegisterConnector($input: RegisterConnectorInput) {
  registerConnector(input: $input) {
    id
    connector_state
    config {
      connection { host vhost use_ssl port user pass }
      push_exchange
      push_routing
    }
    connector_user_id
  }
}`

export const pingConnector = `mutation PingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) {
  pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) {
    id
    connector_state
  }
}`

export const workAdd = `mutation workAdd($connectorId: String!, $friendlyName: String) {
  workAdd(connectorId: $connectorId, friendlyName: $friendlyName) { id }
}`

export const workToProcessed = `mutation workToProcessed($id: ID!, $message: String, $inError: Boolean) {
  workEdit(id: $id) { toProcessed(message: $message, inError: $inError) }
}`

export const addExpectations = `mutation addExpectations($id: ID!, $expectations: Int) {
  workEdit(id: $id) { addExpectations(expectations: $expectations) }
}`

export const stixBundlePush = `mutation StixBundlePush($connectorId: String!, $bundle: String!, $work_id: String) {
  stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $work_id)
}`

export const organizationAdd = `mutation OrganizationAdd($input: OrganizationAddInput!) {
  organizationAdd(input: $input) { id standard_id }
}`

/** One `vulnerability(id:)` field per id, aliased `v0`, `v1`, ...; the platform caps how many per document. */
export const vulnerabilitiesModifiedAt = (count: number): string => {
  const variables = Array.from({ length: count }, (_, index) => `$id${index}: String`).join(", ")
  const fields = Array.from({ length: count }, (_, index) => `  v${index}: vulnerability(id: $id${index}) { standard_id x_opencti_modified_at }`)
  return `query VulnerabilitiesModifiedAt(${variables}) {\n${fields.join("\n")}\n}`
}

export const notesByAbstract = `query NotesByAbstract($filters: FilterGroup, $first: Int, $after: ID) {
  notes(filters: $filters, first: $first, after: $after) {
    edges { node { attribute_abstract } }
    pageInfo { endCursor hasNextPage }
  }
}`
