/**
 * Identifier aliases: the names partners' UBL documents give a partner (EndpointID,
 * PartyIdentification, company ids, party names), and the alias file `convert` reads.
 *
 *   GET    /admin/v1/partners/{id}/aliases                     the partner's aliases
 *   POST   /admin/v1/partners/{id}/aliases   {scheme, value}   add one (idempotent)
 *   DELETE /admin/v1/partners/{id}/aliases   {scheme, value}   remove one
 *   GET    /admin/v1/aliases                                    every alias, as an alias file
 */
import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import {
  addPartnerIdentifier,
  exportAliases,
  listPartnerIdentifiers,
  removePartnerIdentifier,
} from '../../core/partners/identification.service.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { jsonObjectBody, optionalString, requiredString } from '../request-body.ts';

async function identifierOf(c: Parameters<typeof jsonObjectBody>[0]) {
  const body = await jsonObjectBody(c);
  return { scheme: optionalString(body, 'scheme') ?? '', value: requiredString(body, 'value') };
}

export function adminAliasRoutes(db: Kysely<Database>) {
  return new Hono<AppEnv>()
    .get('/partners/:id/aliases', async (c) =>
      c.json({ aliases: await listPartnerIdentifiers(db, c.req.param('id')) }),
    )
    .post('/partners/:id/aliases', async (c) => {
      const alias = await addPartnerIdentifier(db, c.req.param('id'), await identifierOf(c));
      return c.json({ alias }, 201);
    })
    .delete('/partners/:id/aliases', async (c) => {
      await removePartnerIdentifier(db, c.req.param('id'), await identifierOf(c));
      return c.json({ removed: true });
    })
    .get('/aliases', async (c) => c.json(await exportAliases(db)));
}
