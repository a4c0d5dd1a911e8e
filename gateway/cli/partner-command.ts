import type { Config } from '../config.ts';
import { call, openAdminChannel } from './admin-channel.ts';
import { need, parse, UsageError, type Options } from './args.ts';
import { printJson, printPartner, printTable, type Out } from './output.ts';

export async function partnerCommand(
  config: Readonly<Config>,
  args: string[],
  out: Out,
): Promise<void> {
  const [sub, ...rest] = args;
  const specs: Record<string, Options> = {
    add: {
      id: { type: 'string' },
      name: { type: 'string' },
      roles: { type: 'string' },
      format: { type: 'string' },
      'inbound-format': { type: 'string' },
      'outbound-format': { type: 'string' },
      delivery: { type: 'string' },
      endpoint: { type: 'string' },
      'signed-requests': { type: 'boolean' },
    },
    list: {},
    show: { id: { type: 'string' } },
    disable: { id: { type: 'string' } },
    enable: { id: { type: 'string' } },
    'rotate-key': { id: { type: 'string' } },
    'revoke-key': { id: { type: 'string' }, 'key-id': { type: 'string' } },
    subscribe: {
      id: { type: 'string' },
      feed: { type: 'string' },
      mode: { type: 'string' },
      schedule: { type: 'string' },
      categories: { type: 'string' },
      regions: { type: 'string' },
    },
    unsubscribe: { id: { type: 'string' }, feed: { type: 'string' } },
    feeds: { id: { type: 'string' } },
    'set-format': {
      id: { type: 'string' },
      format: { type: 'string' },
      'inbound-format': { type: 'string' },
      'outbound-format': { type: 'string' },
    },
    aliases: { id: { type: 'string' } },
    'alias-add': { id: { type: 'string' }, scheme: { type: 'string' }, value: { type: 'string' } },
    'alias-remove': {
      id: { type: 'string' },
      scheme: { type: 'string' },
      value: { type: 'string' },
    },
  };
  const spec = sub === undefined ? undefined : specs[sub];
  if (sub === undefined || spec === undefined) {
    throw new UsageError(`partner needs a subcommand: ${Object.keys(specs).join(', ')}`);
  }
  const values = parse(rest, spec);
  const json = values.json === true;
  const required = Object.keys(spec).filter((k) =>
    ['id', 'name', 'roles', 'key-id', 'feed', 'value'].includes(k),
  );
  for (const name of required) need(values, name);

  const channel = await openAdminChannel(config);
  try {
    const id = encodeURIComponent(String(values.id));
    switch (sub) {
      case 'add': {
        const result = await call(channel, 'POST', '/admin/v1/partners', {
          id: values.id,
          name: values.name,
          roles: String(values.roles)
            .split(',')
            .map((r) => r.trim())
            .filter((r) => r !== ''),
          format: values.format,
          inboundFormat: values['inbound-format'],
          outboundFormat: values['outbound-format'],
          deliveryMode: values.delivery,
          endpointUrl: values.endpoint,
          requireSignedRequests: values['signed-requests'] === true ? true : undefined,
        });
        if (json) return printJson(out, result);
        printPartner(out, result.partner as Record<string, unknown>);
        out('');
        out(`API key (shown once, keep it safe): ${String(result.apiKey)}`);
        out(`Signing secret (for push signatures): ${String(result.signingSecret)}`);
        return;
      }
      case 'list': {
        const result = await call(channel, 'GET', '/admin/v1/partners');
        if (json) return printJson(out, result);
        const partners = result.partners as Record<string, unknown>[];
        if (partners.length === 0)
          return out('no partners yet: add one with `nakadachi partner add`');
        printTable(
          out,
          ['ID', 'NAME', 'ROLES', 'STATUS', 'FORMAT', 'DELIVERY'],
          partners.map((p) => [
            String(p.id),
            String(p.name),
            (p.roles as string[]).join(','),
            String(p.status),
            String(p.format),
            String(p.deliveryMode),
          ]),
        );
        return;
      }
      case 'show': {
        const result = await call(channel, 'GET', `/admin/v1/partners/${id}`);
        if (json) return printJson(out, result);
        printPartner(out, result.partner as Record<string, unknown>);
        for (const key of result.keys as {
          keyId: string;
          createdAt: string;
          revokedAt: string | null;
        }[]) {
          out(
            `${'key'.padEnd(16)} ${key.keyId} created ${key.createdAt}${key.revokedAt === null ? '' : `, revoked ${key.revokedAt}`}`,
          );
        }
        return;
      }
      case 'disable':
      case 'enable': {
        const result = await call(channel, 'POST', `/admin/v1/partners/${id}/${sub}`);
        if (json) return printJson(out, result);
        return out(
          `partner ${String(values.id)} is ${String((result.partner as Record<string, unknown>).status)}`,
        );
      }
      case 'rotate-key': {
        const result = await call(channel, 'POST', `/admin/v1/partners/${id}/keys`);
        if (json) return printJson(out, result);
        out(`new API key ${String(result.keyId)} (shown once): ${String(result.apiKey)}`);
        return out(
          'the previous keys keep working until you revoke them with `partner revoke-key`',
        );
      }
      case 'revoke-key': {
        const keyId = encodeURIComponent(String(values['key-id']));
        const result = await call(channel, 'DELETE', `/admin/v1/partners/${id}/keys/${keyId}`);
        if (json) return printJson(out, result);
        return out(`key ${String(values['key-id'])} of partner ${String(values.id)} is revoked`);
      }
      case 'subscribe': {
        const feed = encodeURIComponent(String(values.feed));
        const list = (name: string) =>
          typeof values[name] === 'string'
            ? values[name]
                .split(',')
                .map((v) => v.trim())
                .filter((v) => v !== '')
            : undefined;
        const result = await call(channel, 'PUT', `/admin/v1/partners/${id}/feeds/${feed}`, {
          mode: values.mode ?? (values.schedule === undefined ? 'immediate' : 'scheduled'),
          schedule: values.schedule,
          categories: list('categories'),
          regions: list('regions'),
        });
        if (json) return printJson(out, result);
        const sub = result.subscription as { mode: string; schedule: string | null };
        return out(
          `partner ${String(values.id)} receives the ${String(values.feed)} feed ${sub.mode === 'immediate' ? 'at once' : `on the schedule "${String(sub.schedule)}" (UTC)`}`,
        );
      }
      case 'unsubscribe': {
        const feed = encodeURIComponent(String(values.feed));
        const result = await call(channel, 'DELETE', `/admin/v1/partners/${id}/feeds/${feed}`);
        if (json) return printJson(out, result);
        return out(
          `partner ${String(values.id)} no longer receives the ${String(values.feed)} feed`,
        );
      }
      case 'set-format': {
        const result = await call(channel, 'PATCH', `/admin/v1/partners/${id}`, {
          format: values.format,
          inboundFormat: values['inbound-format'],
          outboundFormat: values['outbound-format'],
        });
        if (json) return printJson(out, result);
        const partner = result.partner as { inboundFormat: string; format: string };
        return out(
          `partner ${String(values.id)} sends ${partner.inboundFormat} and receives ${partner.format}`,
        );
      }
      case 'aliases': {
        const result = await call(channel, 'GET', `/admin/v1/partners/${id}/aliases`);
        if (json) return printJson(out, result);
        const aliases = result.aliases as { scheme: string; value: string }[];
        if (aliases.length === 0) return out(`partner ${String(values.id)} has no aliases`);
        printTable(
          out,
          ['SCHEME', 'VALUE'],
          aliases.map((a) => [a.scheme, a.value]),
        );
        return;
      }
      case 'alias-add':
      case 'alias-remove': {
        const alias = { scheme: values.scheme ?? '', value: values.value };
        const result = await call(
          channel,
          sub === 'alias-add' ? 'POST' : 'DELETE',
          `/admin/v1/partners/${id}/aliases`,
          alias,
        );
        if (json) return printJson(out, result);
        const shown = (result.alias as { scheme: string; value: string } | undefined) ?? alias;
        return out(
          `${String(shown.scheme) || 'ZZZ'} ${String(shown.value)} ${sub === 'alias-add' ? 'now names' : 'no longer names'} partner ${String(values.id)}`,
        );
      }
      case 'feeds': {
        const result = await call(channel, 'GET', `/admin/v1/partners/${id}/feeds`);
        if (json) return printJson(out, result);
        const subs = result.subscriptions as {
          feed: string;
          mode: string;
          schedule: string | null;
          categories: string[];
          regions: string[];
          lastSentAt: string | null;
        }[];
        if (subs.length === 0) return out(`partner ${String(values.id)} has no feed subscriptions`);
        printTable(
          out,
          ['FEED', 'MODE', 'SCHEDULE', 'CATEGORIES', 'REGIONS', 'LAST SENT'],
          subs.map((s) => [
            s.feed,
            s.mode,
            s.schedule ?? '-',
            s.categories.join(',') || '*',
            s.regions.join(',') || '*',
            s.lastSentAt ?? '-',
          ]),
        );
        return;
      }
    }
  } finally {
    await channel.close();
  }
}
