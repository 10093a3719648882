import { randomUUID } from "node:crypto"
import { identityStandardId } from "./standardIds.js"

/** An identity created through `organizationAdd` / `identityAdd`. */
export interface IdentityRecord {
  readonly id: string
  readonly standard_id: string
  readonly entity_type: "Organization" | "Individual" | "Sector" | "System"
  readonly identity_class: string
  readonly name: string
  readonly created_at: string
  /** Every input sent for this identity (creation is an upsert, so one entity may get several). */
  readonly inputs: Array<Readonly<Record<string, unknown>>>
}

/** A vulnerability the platform already holds; extra fields are answered as given. */
export interface VulnerabilityInput {
  readonly standard_id: string
  readonly x_opencti_modified_at: string
  readonly name?: string
  readonly stix_ids?: ReadonlyArray<string>
  readonly fields?: Readonly<Record<string, unknown>>
}

export interface VulnerabilityRecord extends VulnerabilityInput {
  readonly id: string
}

/** A note the platform already holds. */
export interface NoteInput {
  readonly abstract: string
  readonly content?: string
  readonly standard_id?: string
  /** Standard or internal ids of the objects the note refers to. */
  readonly objectRefs?: ReadonlyArray<string>
  readonly note_types?: ReadonlyArray<string>
  readonly authors?: ReadonlyArray<string>
}

export interface NoteRecord {
  readonly id: string
  readonly standard_id: string
  readonly abstract: string
  readonly content: string
  readonly objectRefs: ReadonlyArray<string>
  readonly note_types: ReadonlyArray<string>
  readonly authors: ReadonlyArray<string>
  readonly created_at: string
}

const IDENTITY_CLASS: Readonly<Record<IdentityRecord["entity_type"], string>> = {
  Organization: "organization",
  Individual: "individual",
  Sector: "class",
  System: "system"
}

export class Knowledge {
  private readonly identityByStandardId = new Map<string, IdentityRecord>()
  private readonly vulnerabilityByAnyId = new Map<string, VulnerabilityRecord>()
  private readonly noteList: Array<NoteRecord> = []

  get identities(): ReadonlyArray<IdentityRecord> {
    return [...this.identityByStandardId.values()]
  }

  get notes(): ReadonlyArray<NoteRecord> {
    return this.noteList
  }

  /** Upserts on the deterministic standard id, as the platform does. */
  upsertIdentity(
    entityType: IdentityRecord["entity_type"],
    name: string,
    input: Readonly<Record<string, unknown>>
  ): IdentityRecord {
    const identityClass = IDENTITY_CLASS[entityType]
    const standardId = identityStandardId(name, identityClass)
    const existing = this.identityByStandardId.get(standardId)
    if (existing !== undefined) {
      existing.inputs.push(input)
      return existing
    }
    const created: IdentityRecord = {
      id: randomUUID(),
      standard_id: standardId,
      entity_type: entityType,
      identity_class: identityClass,
      name,
      created_at: new Date().toISOString(),
      inputs: [input]
    }
    this.identityByStandardId.set(standardId, created)
    return created
  }

  putVulnerability(input: VulnerabilityInput): VulnerabilityRecord {
    const record: VulnerabilityRecord = { ...input, id: randomUUID() }
    for (const id of [record.id, record.standard_id, ...(record.stix_ids ?? [])]) {
      this.vulnerabilityByAnyId.set(id, record)
    }
    return record
  }

  /** By internal id, standard id or any of its STIX ids. */
  vulnerability(id: string): VulnerabilityRecord | undefined {
    return this.vulnerabilityByAnyId.get(id)
  }

  addNote(input: NoteInput): NoteRecord {
    const id = randomUUID()
    const record: NoteRecord = {
      id,
      standard_id: input.standard_id ?? `note--${id}`,
      abstract: input.abstract,
      content: input.content ?? input.abstract,
      objectRefs: input.objectRefs ?? [],
      note_types: input.note_types ?? [],
      authors: input.authors ?? [],
      created_at: new Date().toISOString()
    }
    this.noteList.push(record)
    return record
  }
}
