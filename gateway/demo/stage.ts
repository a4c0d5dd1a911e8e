/**
 * The stage the scenario plays on: the running gateway, the cast registered with their own
 * endpoints, and the few moves the scenario makes — a partner sends a document, a partner waits
 * for a push, a partner reads the API, the operator funds an account, the clock moves on. Every
 * move lands on the timeline as it happens.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createSchemaRegistry } from '../../schemas/registry.ts';
import type { CanonicalDocument } from '../core/document.ts';
import type { WireMoney } from '../core/money.ts';
import type { Gateway } from '../main.ts';
import type { AdminApi } from './admin-client.ts';
import { CAST, type PartyId } from './cast.ts';
import { moneyText } from './format.ts';
import { describeInbound, describeOutbound, learn, type Story } from './meaning.ts';
import { fetchGatewayKeys, partnerClient, type PartnerClient } from './partner-client.ts';
import { startDemoReceiver, type DemoReceiver } from './receiver.ts';
import { createTimeline, type Timeline, type TimelineOptions } from './timeline.ts';

/** A push normally arrives within milliseconds; past this the demo says it is still waiting. */
const SLOW_PUSH_MS = 2000;
const PUSH_TIMEOUT_MS = 20_000;

export interface StageFacts {
  receiptsVerified: number;
  pushes: number;
  repeats: number;
  /** Pushes a partner refused (bad signature, undecodable): none in a sound run. */
  problems: string[];
}

export interface Stage {
  timeline: Timeline;
  /** A partner sends a document; its row is printed before the pushes it causes. */
  act: (id: PartyId, type: string, body: object) => Promise<Record<string, string>>;
  /** The next document of `type` pushed to a partner (matching `match`), once it has arrived. */
  pushed: <T>(id: PartyId, type: string, match?: (body: T) => boolean) => Promise<T>;
  /** A partner reads the partner API (GET). */
  look<T>(id: PartyId, path: string): Promise<T>;
  /** The operator pays money into a partner's account (a funding through the admin API). */
  fund(partner: PartyId, amount: WireMoney, reference: string): Promise<void>;
  /** Runs a scheduled job now instead of at its next tick. */
  wake(job: string): void;
  /** Sleeps until the epoch millisecond `at` (interrupted by the demo's signal). */
  waitUntil(at: number): Promise<void>;
  facts(): StageFacts;
  close(): Promise<void>;
}

export async function setUpStage(options: {
  gateway: Gateway;
  admin: AdminApi;
  story: Story;
  timeline: TimelineOptions;
  signal: AbortSignal | undefined;
}): Promise<Stage> {
  const { gateway, admin, story, signal } = options;
  const url = gateway.url ?? '';
  const registry = createSchemaRegistry();
  const keys = await fetchGatewayKeys(url);
  const clients = new Map<PartyId, PartnerClient>();
  const receivers = new Map<PartyId, DemoReceiver>();
  const timeline = createTimeline(options.timeline);

  function pushedTo(partyId: string, document: CanonicalDocument, at: number): void {
    const meaning = describeOutbound(document, story);
    learn(story, document, { recipient: partyId });
    timeline.pushed({
      at,
      from: 'G',
      to: partyId,
      type: document.header.type,
      messageId: document.header.messageId,
      meaning,
    });
  }

  try {
    for (const member of CAST) {
      const receiver = await startDemoReceiver({
        partnerId: member.id,
        format: member.format,
        registry,
        onDocument: (pushed) => pushedTo(member.id, pushed.document, pushed.receivedAt),
      });
      receivers.set(member.id, receiver);
      const created = await admin('POST', '/partners', {
        id: member.id,
        name: member.name,
        roles: [member.role],
        format: member.format,
        deliveryMode: 'push',
        endpointUrl: receiver.url,
      });
      receiver.trust(String(created.signingSecret));
      clients.set(
        member.id,
        partnerClient({
          gatewayUrl: url,
          id: member.id,
          apiKey: String(created.apiKey),
          format: member.format,
          registry,
          keys,
        }),
      );
    }
    // "Not-regularly": these two hear of each new item / reservation in the transaction that
    // stores it; the other buyer and seller ask the API when they want to know.
    await admin('PUT', '/partners/BUYER-A/feeds/items', { mode: 'immediate' });
    await admin('PUT', '/partners/SELLER-A/feeds/reservations', { mode: 'immediate' });
  } catch (error) {
    await Promise.all([...receivers.values()].map((r) => r.close()));
    throw error;
  }

  const tl = timeline;
  const client = (id: PartyId) => {
    const found = clients.get(id);
    if (found === undefined) throw new Error(`${id} is not in the cast`);
    return found;
  };
  const receiver = (id: PartyId) => {
    const found = receivers.get(id);
    if (found === undefined) throw new Error(`${id} is not in the cast`);
    return found;
  };

  return {
    timeline: tl,
    act(id, type, body) {
      signal?.throwIfAborted();
      return tl.holding(async () => {
        const at = Date.now();
        const sent = await client(id).send(type, body);
        tl.document({
          at,
          from: id,
          to: 'G',
          type,
          messageId: sent.document.header.messageId,
          meaning: describeInbound(sent.document, story, sent.assigned),
        });
        learn(story, sent.document, { assigned: sent.assigned });
        return sent.assigned;
      });
    },
    async pushed<T>(id: PartyId, type: string, match: (body: T) => boolean = () => true) {
      const got = await receiver(id).take(type, (body) => match(body as T), {
        timeoutMs: PUSH_TIMEOUT_MS,
        slowMs: SLOW_PUSH_MS,
        onSlow: () => tl.wait(`still waiting for the gateway to push ${type} to ${id} …`),
        signal,
      });
      return got.document.body as T;
    },
    async look<T>(id: PartyId, path: string) {
      return (await client(id).get(path)) as T;
    },
    async fund(partner, amount, reference) {
      await admin('POST', `/accounts/${partner}/fundings`, { ...amount, reference });
      tl.operator(
        'fund account',
        `${partner} pays ${moneyText(amount)} into its account at the gateway (wire ${reference})`,
      );
    },
    wake(job) {
      gateway.jobs?.scheduler.wake(job);
    },
    async waitUntil(at) {
      const ms = at - Date.now();
      if (ms > 0) await sleep(ms, undefined, { signal });
    },
    facts() {
      const all = [...receivers.values()];
      return {
        receiptsVerified: [...clients.values()].reduce((n, c) => n + c.verifiedReceipts(), 0),
        pushes: all.reduce((n, r) => n + r.documents.length, 0),
        repeats: all.reduce((n, r) => n + r.duplicates(), 0),
        problems: all.flatMap((r) => r.problems),
      };
    },
    async close() {
      await Promise.all([...receivers.values()].map((r) => r.close()));
    },
  };
}
