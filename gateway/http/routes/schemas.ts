/** The published contract: every document schema and its examples, readable without a key. */
import fs from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { INBOUND_SENDER_ROLES, isInboundType } from '../../../schemas/document-types.ts';
import type { SchemaRegistry } from '../../../schemas/registry.ts';
import { GatewayError } from '../../core/errors.ts';
import type { AppEnv } from '../env.ts';

const EXAMPLES_DIR = path.join(import.meta.dirname, '../../../schemas/examples');

export function schemaRoutes(registry: SchemaRegistry) {
  // Read once: the examples never change while the gateway runs.
  const examples = new Map<string, string>();
  for (const type of registry.types) {
    for (const ext of ['json', 'xml']) {
      const file = path.join(EXAMPLES_DIR, `${type}.${ext}`);
      if (fs.existsSync(file)) examples.set(`${type}.${ext}`, fs.readFileSync(file, 'utf8'));
    }
  }
  const listing = registry.types.map((type) => ({
    type,
    direction: isInboundType(type) ? 'inbound' : 'outbound',
    senderRoles: isInboundType(type) ? INBOUND_SENDER_ROLES[type] : ['gateway'],
    schema: `/v1/schemas/${type}`,
    examples: { json: `/v1/schemas/${type}/example.json`, xml: `/v1/schemas/${type}/example.xml` },
  }));

  function known(type: string): string {
    if (!registry.has(type)) throw new GatewayError('NOT_FOUND', `no document type ${type}`);
    return type;
  }

  return new Hono<AppEnv>()
    .get('/', (c) => c.json({ namespace: 'urn:nakadachi:1', schemas: listing }))
    .get('/:type', (c) => c.json(registry.schema(known(c.req.param('type')))))
    .get('/:type/example.json', (c) =>
      c.body(examples.get(`${known(c.req.param('type'))}.json`) ?? '', 200, {
        'content-type': 'application/json; charset=utf-8',
      }),
    )
    .get('/:type/example.xml', (c) =>
      c.body(examples.get(`${known(c.req.param('type'))}.xml`) ?? '', 200, {
        'content-type': 'application/xml; charset=utf-8',
      }),
    );
}
