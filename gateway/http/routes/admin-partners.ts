import { Hono } from 'hono';
import { GatewayError } from '../../core/errors.ts';
import type { Partner } from '../../core/partners/partners.ts';
import {
  createPartner,
  getPartner,
  issueApiKey,
  listPartnerKeys,
  listPartners,
  revokeApiKey,
  setPartnerStatus,
  updatePartner,
  type PartnerDeps,
} from '../../core/partners/partners.service.ts';
import type { AppEnv } from '../env.ts';
import {
  jsonObjectBody,
  optionalBoolean,
  optionalString,
  optionalStringList,
  requiredString,
} from '../request-body.ts';

export function partnerView(partner: Partner) {
  return {
    id: partner.id,
    name: partner.name,
    roles: partner.roles,
    status: partner.status,
    format: partner.format,
    inboundFormat: partner.inboundFormat,
    deliveryMode: partner.deliveryMode,
    endpointUrl: partner.endpointUrl,
    endpointDisabledAt: partner.endpointDisabledAt?.toISOString() ?? null,
    requireSignedRequests: partner.requireSignedRequests,
    createdAt: partner.createdAt.toISOString(),
    updatedAt: partner.updatedAt.toISOString(),
  };
}

/** `/admin/v1/partners`: the partner registry for operators and the CLI. */
export function adminPartnerRoutes(deps: PartnerDeps) {
  return new Hono<AppEnv>()
    .get('/', async (c) => c.json({ partners: (await listPartners(deps.db)).map(partnerView) }))
    .post('/', async (c) => {
      const body = await jsonObjectBody(c);
      const roles = optionalStringList(body, 'roles');
      if (roles === undefined) throw new GatewayError('BAD_REQUEST', 'roles is required');
      const created = await createPartner(deps, {
        id: requiredString(body, 'id'),
        name: requiredString(body, 'name'),
        roles,
        format: optionalString(body, 'format'),
        inboundFormat: optionalString(body, 'inboundFormat'),
        outboundFormat: optionalString(body, 'outboundFormat'),
        deliveryMode: optionalString(body, 'deliveryMode'),
        endpointUrl: optionalString(body, 'endpointUrl'),
        requireSignedRequests: optionalBoolean(body, 'requireSignedRequests'),
      });
      return c.json(
        {
          partner: partnerView(created.partner),
          apiKey: created.apiKey.apiKey,
          keyId: created.apiKey.keyId,
          signingSecret: created.signingSecret,
        },
        201,
      );
    })
    .get('/:id', async (c) => {
      const id = c.req.param('id');
      const partner = await getPartner(deps.db, id);
      const keys = await listPartnerKeys(deps.db, id);
      return c.json({
        partner: partnerView(partner),
        keys: keys.map((k) => ({
          keyId: k.keyId,
          createdAt: k.createdAt.toISOString(),
          revokedAt: k.revokedAt?.toISOString() ?? null,
        })),
      });
    })
    .patch('/:id', async (c) => {
      const body = await jsonObjectBody(c);
      const partner = await updatePartner(deps, c.req.param('id'), {
        name: optionalString(body, 'name'),
        roles: optionalStringList(body, 'roles'),
        format: optionalString(body, 'format'),
        inboundFormat: optionalString(body, 'inboundFormat'),
        outboundFormat: optionalString(body, 'outboundFormat'),
        deliveryMode: optionalString(body, 'deliveryMode'),
        endpointUrl: optionalString(body, 'endpointUrl'),
        requireSignedRequests: optionalBoolean(body, 'requireSignedRequests'),
      });
      return c.json({ partner: partnerView(partner) });
    })
    .post('/:id/disable', async (c) =>
      c.json({
        partner: partnerView(await setPartnerStatus(deps.db, c.req.param('id'), 'suspended')),
      }),
    )
    .post('/:id/enable', async (c) =>
      c.json({
        partner: partnerView(await setPartnerStatus(deps.db, c.req.param('id'), 'active')),
      }),
    )
    .post('/:id/keys', async (c) => {
      const key = await issueApiKey(deps.db, c.req.param('id'));
      return c.json({ keyId: key.keyId, apiKey: key.apiKey }, 201);
    })
    .delete('/:id/keys/:keyId', async (c) => {
      await revokeApiKey(deps.db, c.req.param('id'), c.req.param('keyId'));
      return c.json({ revoked: c.req.param('keyId') });
    });
}
