/**
 * Partner registry use cases. API keys are random, shown once and stored as SHA-256; a partner
 * may hold several at once so that keys rotate without downtime (issue a new key, move the
 * client over, revoke the old one).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { notifyOutbox } from '../delivery/outbox.repository.ts';
import { GatewayError, type Result } from '../errors.ts';
import {
  checkPartnerId,
  DELIVERY_MODES,
  parseChoice,
  partnerFormats,
  parseRoles,
  type DeliveryMode,
  type EndpointCheck,
  type IssuedApiKey,
  type NewPartner,
  type Partner,
  type PartnerChanges,
  type PartnerStatus,
} from './partners.ts';
import {
  findPartner,
  findPartnerByKeyHash,
  insertApiKey,
  insertPartner,
  listApiKeys,
  listPartnerRows,
  revokeApiKeyRow,
  toPartner,
  updatePartnerRow,
} from './partners.repository.ts';

/** Port: creates a file-mode partner's drop folders (adapters/filedrop), idempotently. */
export type PrepareFileDrop = (partnerId: string) => Promise<Result<void>>;

export interface PartnerDeps {
  db: Kysely<Database>;
  checkEndpoint: EndpointCheck;
  /** Absent where no files are served (tests of other features): nothing is created. */
  prepareFileDrop?: PrepareFileDrop;
}

export interface CreatedPartner {
  partner: Partner;
  apiKey: IssuedApiKey;
  /** Standard Webhooks secret: the partner verifies our pushes and signs its requests with it. */
  signingSecret: string;
}

export interface ApiKeyInfo {
  keyId: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

function newApiKey(): IssuedApiKey & { keyHash: string } {
  const keyId = randomBytes(6).toString('hex');
  const apiKey = `nk_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { keyId, apiKey, keyHash: hashApiKey(apiKey) };
}

/** A partner in (or moving to) file mode gets its folders before the change is committed. */
async function prepareFileDrop(deps: PartnerDeps, id: string, mode: DeliveryMode): Promise<void> {
  if (mode !== 'file' || deps.prepareFileDrop === undefined) return;
  const prepared = await deps.prepareFileDrop(id);
  if (!prepared.ok) throw new GatewayError('STORAGE_UNAVAILABLE', prepared.error.message);
}

function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function checkDelivery(
  deps: PartnerDeps,
  mode: DeliveryMode,
  endpointUrl: string | null | undefined,
): string | null {
  if (mode !== 'push') return endpointUrl ?? null;
  if (endpointUrl === undefined || endpointUrl === null || endpointUrl === '') {
    throw new GatewayError('BAD_REQUEST', 'delivery mode push needs an endpoint URL');
  }
  const verdict = deps.checkEndpoint(endpointUrl);
  if (!verdict.ok) throw new GatewayError('BAD_REQUEST', `endpoint refused: ${verdict.message}`);
  return endpointUrl;
}

export async function createPartner(deps: PartnerDeps, input: NewPartner): Promise<CreatedPartner> {
  const id = checkPartnerId(input.id);
  const name = input.name.trim();
  if (name === '') throw new GatewayError('BAD_REQUEST', 'a partner needs a name');
  const roles = parseRoles(input.roles);
  const { format, inboundFormat } = partnerFormats(input);
  const deliveryMode = parseChoice<DeliveryMode>(
    'delivery mode',
    input.deliveryMode ?? 'mailbox',
    DELIVERY_MODES,
  );
  const endpointUrl = checkDelivery(deps, deliveryMode, input.endpointUrl);
  const key = newApiKey();
  const signingSecret = newSigningSecret();

  return deps.db.transaction().execute(async (trx) => {
    const row = await insertPartner(trx, {
      id,
      name,
      roles,
      format,
      inbound_format: inboundFormat,
      delivery_mode: deliveryMode,
      endpoint_url: endpointUrl,
      signing_secret: signingSecret,
      require_signed_requests: input.requireSignedRequests ?? false,
    });
    if (row === undefined) throw new GatewayError('CONFLICT', `partner ${id} already exists`);
    await insertApiKey(trx, { id: key.keyId, partnerId: id, keyHash: key.keyHash });
    await prepareFileDrop(deps, id, deliveryMode);
    return {
      partner: toPartner(row),
      apiKey: { keyId: key.keyId, apiKey: key.apiKey },
      signingSecret,
    };
  });
}

export async function getPartner(db: Kysely<Database>, id: string): Promise<Partner> {
  const row = await findPartner(db, id);
  if (row === undefined) throw new GatewayError('NOT_FOUND', `no partner ${id}`);
  return toPartner(row);
}

export async function listPartners(db: Kysely<Database>): Promise<Partner[]> {
  return (await listPartnerRows(db)).map(toPartner);
}

export async function listPartnerKeys(db: Kysely<Database>, id: string): Promise<ApiKeyInfo[]> {
  await getPartner(db, id);
  return (await listApiKeys(db, id)).map((k) => ({
    keyId: k.id,
    createdAt: k.created_at,
    revokedAt: k.revoked_at,
  }));
}

export async function updatePartner(
  deps: PartnerDeps,
  id: string,
  changes: PartnerChanges,
): Promise<Partner> {
  const current = await getPartner(deps.db, id);
  const deliveryMode =
    changes.deliveryMode === undefined
      ? current.deliveryMode
      : parseChoice<DeliveryMode>('delivery mode', changes.deliveryMode, DELIVERY_MODES);
  const endpointUrl = checkDelivery(
    deps,
    deliveryMode,
    changes.endpointUrl === undefined ? current.endpointUrl : changes.endpointUrl,
  );
  const formats = partnerFormats(changes, current);
  await prepareFileDrop(deps, id, deliveryMode);
  const row = await updatePartnerRow(deps.db, id, {
    name: changes.name?.trim() || undefined,
    roles: changes.roles === undefined ? undefined : parseRoles(changes.roles),
    format: formats.format,
    inbound_format: formats.inboundFormat,
    delivery_mode: deliveryMode,
    endpoint_url: endpointUrl,
    // Setting an endpoint (again) is the operator's word that it works: re-enable it after a 410.
    endpoint_disabled_at: changes.endpointUrl === undefined ? undefined : null,
    require_signed_requests: changes.requireSignedRequests,
  });
  if (row === undefined) throw new GatewayError('NOT_FOUND', `no partner ${id}`);
  // A new mode or endpoint may make pending documents deliverable: wake the deliverers.
  if (changes.deliveryMode !== undefined || changes.endpointUrl !== undefined) {
    await notifyOutbox(deps.db);
  }
  return toPartner(row);
}

export async function setPartnerStatus(
  db: Kysely<Database>,
  id: string,
  status: PartnerStatus,
): Promise<Partner> {
  const row = await updatePartnerRow(db, id, { status });
  if (row === undefined) throw new GatewayError('NOT_FOUND', `no partner ${id}`);
  // Documents for a suspended partner wait in the outbox; enabling it lets them go.
  if (status === 'active') await notifyOutbox(db);
  return toPartner(row);
}

/** A new key beside the existing ones; the old keys keep working until revoked. */
export async function issueApiKey(db: Kysely<Database>, id: string): Promise<IssuedApiKey> {
  await getPartner(db, id);
  const key = newApiKey();
  await insertApiKey(db, { id: key.keyId, partnerId: id, keyHash: key.keyHash });
  return { keyId: key.keyId, apiKey: key.apiKey };
}

export async function revokeApiKey(db: Kysely<Database>, id: string, keyId: string): Promise<void> {
  await getPartner(db, id);
  if (!(await revokeApiKeyRow(db, id, keyId))) {
    throw new GatewayError('NOT_FOUND', `partner ${id} has no active key ${keyId}`);
  }
}

export interface AuthenticatedPartner {
  partner: Partner;
  signingSecret: string;
}

/** The active partner for a presented API key; undefined for unknown, revoked or suspended. */
export async function authenticateApiKey(
  db: Kysely<Database>,
  apiKey: string,
): Promise<AuthenticatedPartner | undefined> {
  const row = await findPartnerByKeyHash(db, hashApiKey(apiKey));
  if (row === undefined || row.status !== 'active') return undefined;
  return { partner: toPartner(row), signingSecret: row.signing_secret };
}
