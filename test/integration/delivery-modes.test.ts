/**
 * Delivery by mode: file-mode partners get atomic files in their outbox folder, mailbox-mode
 * documents wait for the partner's pull, a partner's pending documents follow a change of mode,
 * suspended partners get nothing until enabled, and the endpoint guard refuses at connect time
 * what it would refuse when configured.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPartner } from '../../gateway/core/partners/partners.service.ts';
import {
  eventually,
  logOf,
  outboxRow,
  outboxStatus,
  startDeliveryHarness,
  type DeliveryHarness,
} from '../support/delivery.ts';
import { registerPartner } from '../support/gateway.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

let harness: DeliveryHarness;
let root: string;
let rx: Receiver;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-files-'));
  rx = await startReceiver();
  harness = await startDeliveryHarness({ ALLOW_INSECURE_ENDPOINTS: 'false', FILE_DROP_ROOT: root });
});
afterAll(async () => {
  await harness.close();
  await rx.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('file outbox', () => {
  it('writes each document atomically to <root>/<partner>/outbox/<messageId>.<format>', async () => {
    await registerPartner(harness, { id: 'FILER', roles: ['carrier'], deliveryMode: 'file' });
    await registerPartner(harness, {
      id: 'FILER-XML',
      roles: ['carrier'],
      deliveryMode: 'file',
      format: 'xml',
    });
    const ids = await harness.enqueue('FILER', 3);
    const [xmlId] = await harness.enqueue('FILER-XML');
    const folder = path.join(root, 'FILER', 'outbox');
    for (const id of ids) {
      await eventually(
        async () => (await outboxStatus(harness.database.db, id)) === 'delivered',
        'file delivery',
      );
      const row = await outboxRow(harness.database.db, id);
      expect(fs.readFileSync(path.join(folder, `${id}.json`))).toEqual(Buffer.from(row.body));
    }
    // Only finished files: no temporary left behind.
    expect(fs.readdirSync(folder).sort()).toEqual(ids.map((id) => `${id}.json`).sort());
    await eventually(
      async () => (await outboxStatus(harness.database.db, xmlId!)) === 'delivered',
      'xml file delivery',
    );
    expect(
      fs.readFileSync(path.join(root, 'FILER-XML', 'outbox', `${xmlId}.xml`), 'utf8'),
    ).toContain('<NoAward xmlns="urn:nakadachi:1">');
    const log = await logOf(harness.database.db, ids[0]!);
    expect(log[1]).toMatchObject({
      event: 'delivery-attempt',
      status: 'delivered',
      detail: { transport: 'file', attempt: 1 },
    });
  });
});

describe('mode changes and suspension', () => {
  it('leaves mailbox documents to the pull, and sends them by the new mode after a switch', async () => {
    await registerPartner(harness, { id: 'SWITCHER', roles: ['buyer'] }); // mailbox by default
    const ids = await harness.enqueue('SWITCHER', 2);
    await sleep(300);
    for (const id of ids) expect(await outboxStatus(harness.database.db, id)).toBe('pending');

    const patched = await harness.admin('PATCH', '/admin/v1/partners/SWITCHER', {
      deliveryMode: 'file',
    });
    expect(patched.status).toBe(200);
    for (const id of ids) {
      await eventually(
        async () => (await outboxStatus(harness.database.db, id)) === 'delivered',
        'delivery by the new mode',
      );
      expect(fs.existsSync(path.join(root, 'SWITCHER', 'outbox', `${id}.json`))).toBe(true);
    }
  });

  it('holds documents for a suspended partner until it is enabled again', async () => {
    await registerPartner(harness, { id: 'NAPPING', roles: ['buyer'], deliveryMode: 'file' });
    expect((await harness.admin('POST', '/admin/v1/partners/NAPPING/disable')).status).toBe(200);
    const [id] = await harness.enqueue('NAPPING');
    await sleep(300);
    expect(await outboxStatus(harness.database.db, id!)).toBe('pending');
    expect((await harness.admin('POST', '/admin/v1/partners/NAPPING/enable')).status).toBe(200);
    await eventually(
      async () => (await outboxStatus(harness.database.db, id!)) === 'delivered',
      'delivery after enabling',
    );
  });
});

describe('endpoint guard', () => {
  it('refuses a loopback endpoint when configured, and again when connecting', async () => {
    const refused = await harness.admin('POST', '/admin/v1/partners', {
      id: 'LOOPBACK',
      name: 'Loopback',
      roles: ['buyer'],
      deliveryMode: 'push',
      endpointUrl: rx.url,
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('endpoint refused');

    // Configured when insecure endpoints were allowed; this gateway no longer allows them.
    await createPartner(
      { db: harness.database.db, checkEndpoint: () => ({ ok: true }) },
      {
        id: 'LOOPBACK',
        name: 'Loopback',
        roles: ['buyer'],
        deliveryMode: 'push',
        endpointUrl: rx.url,
      },
    );
    const [id] = await harness.enqueue('LOOPBACK');
    await eventually(
      async () => (await outboxStatus(harness.database.db, id!)) === 'dead',
      'the refused delivery dead-lettered',
    );
    expect(rx.requests).toHaveLength(0);
    const attempt = (await logOf(harness.database.db, id!)).find(
      (e) => e.event === 'delivery-attempt',
    );
    expect(attempt!.detail).toMatchObject({ reason: 'ENDPOINT_REFUSED' });
  });
});
