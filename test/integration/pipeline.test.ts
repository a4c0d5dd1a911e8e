/** The pipeline's refusal of types without a handler, tested with a registry that has none. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHandlerRegistry } from '../../gateway/core/pipeline/handlers.ts';
import { receiveDocument } from '../../gateway/core/pipeline/pipeline.service.ts';
import { getPartner } from '../../gateway/core/partners/partners.service.ts';
import { createLogger } from '../../gateway/logger.ts';
import { buildServices } from '../../gateway/main.ts';
import { exampleDocument } from '../support/documents.ts';
import { registerPartner, startTestGateway, type TestGateway } from '../support/gateway.ts';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
  await registerPartner(gateway, { id: 'BUYER-A', roles: ['buyer'] });
});
afterAll(async () => {
  await gateway.close();
});

it('refuses a type without a handler with UNSUPPORTED_DOCUMENT_TYPE and stores nothing but the log entry', async () => {
  const deps = await buildServices(
    gateway.config,
    gateway.database,
    createLogger('silent'),
    undefined,
  );
  const pipeline = { ...deps.pipeline, handlers: createHandlerRegistry() };
  const doc = exampleDocument('PurchaseReservation', 'BUYER-A');
  const outcome = await receiveDocument(pipeline, {
    sender: await getPartner(gateway.database.db, 'BUYER-A'),
    bytes: new TextEncoder().encode(JSON.stringify(doc)),
    format: 'json',
    contentType: 'application/json',
  });
  expect(outcome).toMatchObject({ kind: 'rejected', code: 'UNSUPPORTED_DOCUMENT_TYPE' });
  const inbound = await gateway.database.db.selectFrom('inbound_messages').selectAll().execute();
  expect(inbound).toHaveLength(0);
  const log = await gateway.database.db
    .selectFrom('message_log')
    .select(['status', 'message_id'])
    .execute();
  expect(log).toEqual([{ status: 'rejected', message_id: doc.header.messageId }]);
});
