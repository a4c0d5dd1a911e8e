/**
 * `nakadachi convert`: shows a partner what its document becomes — the onboarding tool.
 *
 *   convert --from ubl --to json|xml FILE [--aliases FILE] [--as PARTNER]
 *   convert --from json|xml --to ubl FILE
 *
 * The conversion itself needs no database. Party and item aliases come from an alias file
 * (--aliases; `GET /admin/v1/aliases` exports one) or, without it, from the gateway (its admin
 * API, as every command). --as names the sending partner, for documents that name none.
 * References to the gateway's own objects (orders, reservations) are shown as the document
 * gives them. Exit code 0 when the document converts (values the gateway fills in from its
 * records are noted), 1 when it does not, with each problem at its canonical path and the UBL
 * path that was expected.
 */
import { readFileSync } from 'node:fs';
import { decodeDocument, encodeDocument } from '../../adapters/codec/index.ts';
import { aliasDirectory, parseAliasFile } from '../../adapters/ubl/alias-file.ts';
import { createUblAdapter } from '../../adapters/ubl/ubl-adapter.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';
import type { Config } from '../config.ts';
import type { CanonicalDocument } from '../core/document.ts';
import type { ErrorDetail } from '../core/errors.ts';
import { call, openAdminChannel } from './admin-channel.ts';
import { parseArgs } from 'node:util';
import { need, UsageError, type Values } from './args.ts';
import { printJson, type Out } from './output.ts';

const OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  aliases: { type: 'string' },
  as: { type: 'string' },
} as const;

export const CONVERT_USAGE = `  convert --from ubl --to json|xml FILE [--aliases FILE] [--as PARTNER]
                                         what a partner's UBL document becomes (aliases from
                                         the file, else from the gateway)
  convert --from json|xml --to ubl FILE  a canonical document as the gateway writes it in UBL`;

function parseConvert(args: string[]): { values: Values; file: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { json: { type: 'boolean' }, ...OPTIONS },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  const [file, ...rest] = parsed.positionals;
  if (file === undefined || rest.length > 0) throw new UsageError('convert needs exactly one FILE');
  return { values: parsed.values, file };
}

/** Exit code: 0 converted, 1 not. */
export async function convertCommand(
  config: Readonly<Config>,
  args: string[],
  out: Out,
  errOut: Out,
): Promise<number> {
  const { values, file } = parseConvert(args);
  const from = need(values, 'from');
  const to = need(values, 'to');
  const registry = createSchemaRegistry();
  const ubl = createUblAdapter(registry);
  const bytes = readFile(file);

  if (from === 'ubl' && (to === 'json' || to === 'xml')) {
    const aliasFile =
      typeof values.aliases === 'string'
        ? readAliases(values.aliases)
        : await gatewayAliases(config);
    const partnerId = typeof values.as === 'string' ? values.as : undefined;
    const result = await ubl.decode(bytes, { directory: aliasDirectory(aliasFile), partnerId });
    const documents = result.ok ? (result.derived ?? [result.document]) : [];
    const partial = result.ok ? undefined : (result.decoded as CanonicalDocument | undefined);
    const errors = result.ok ? [] : result.errors;
    // Values only the gateway's records give are notes, not failures.
    const converted = result.ok || errors.every((e) => e.code === 'RESOLVED_BY_GATEWAY');
    if (values.json === true) {
      printJson(out, {
        converted,
        documents,
        ...(partial === undefined ? {} : { partial }),
        errors,
      });
    } else {
      const shown = documents.length > 0 ? documents : partial === undefined ? [] : [partial];
      // Several documents (an RFQ's lines) are a JSON array, or XML documents one after another.
      if (to === 'xml') for (const doc of shown) out(xmlOf(doc));
      else if (shown.length > 0)
        out(JSON.stringify(shown.length === 1 ? shown[0] : shown, null, 2));
      report(errors, converted, partial !== undefined, errOut);
    }
    return converted ? 0 : 1;
  }

  if ((from === 'json' || from === 'xml') && to === 'ubl') {
    const decoded = decodeDocument(bytes, from, registry);
    if (!decoded.ok) {
      report(decoded.errors, false, false, errOut);
      return 1;
    }
    const type = decoded.document.header.type;
    const mapping =
      ubl.mappings.outboundFor(type) ??
      ubl.mappings.all.find((m) => m.canonical === type && m.customization === undefined);
    if (mapping === undefined) {
      errOut(`UBL has no document for ${type}: the gateway sends it in its own XML`);
      return 1;
    }
    if (!ubl.hasForm(decoded.document, mapping)) {
      errOut(
        `this ${type} has no UBL form (${mapping.ubl} needs ${mapping.needs ?? 'more'}, and it is empty): the gateway sends it in its own XML`,
      );
      return 1;
    }
    out(ubl.encodeWith(decoded.document, mapping, { pretty: true }));
    return 0;
  }
  throw new UsageError('convert --from ubl --to json|xml, or --from json|xml --to ubl');

  function xmlOf(doc: CanonicalDocument): string {
    // A partial document may not be valid: then it is shown as JSON.
    return registry.validate(doc).ok
      ? encodeDocument(doc, 'xml', registry, { pretty: true })
      : JSON.stringify(doc, null, 2);
  }
}

function readFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function readAliases(file: string) {
  try {
    return parseAliasFile(JSON.parse(readFile(file).toString('utf8')) as unknown);
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message}`);
  }
}

async function gatewayAliases(config: Readonly<Config>) {
  const channel = await openAdminChannel(config);
  try {
    return parseAliasFile(await call(channel, 'GET', '/admin/v1/aliases'));
  } finally {
    await channel.close();
  }
}

function report(
  errors: readonly ErrorDetail[],
  converted: boolean,
  partial: boolean,
  errOut: Out,
): void {
  for (const error of errors) {
    const note = error.code === 'RESOLVED_BY_GATEWAY' ? 'note' : error.code;
    errOut(`${error.path || '/'}: ${note}: ${error.message}`);
  }
  if (!converted) {
    errOut(
      partial ? 'not converted: the document above is as far as it could be read' : 'not converted',
    );
  }
}
