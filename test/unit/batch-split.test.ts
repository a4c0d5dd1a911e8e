/**
 * The batch splitters: every format, the exact bytes of each document, refusals at their
 * position, broken structure, security limits, and the same result however the bytes are chunked.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  batchFormatFromContentType,
  splitBatch,
  type BatchFormat,
  type SplitLimits,
} from '../../adapters/codec/batch-split.ts';
import type { BatchItem } from '../../gateway/core/batches/batches.service.ts';

type Seen =
  | { document: string; decodeAs?: string }
  | { refused: string; message: string }
  | { broken: string; message: string };

/** The bytes as a stream of chunks of the given sizes (cycled); one chunk when none given. */
function chunked(bytes: Buffer, sizes: readonly number[]): Readable {
  const chunks: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes.length === 0 ? bytes.length : Math.max(1, sizes[i % sizes.length]!);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return Readable.from(chunks);
}

async function split(
  input: string | Buffer,
  format: BatchFormat,
  sizes: readonly number[] = [],
  limits?: SplitLimits,
): Promise<Seen[]> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const seen: Seen[] = [];
  for await (const item of splitBatch(chunked(bytes, sizes), format, limits)) seen.push(view(item));
  return seen;
}

function view(item: BatchItem): Seen {
  switch (item.kind) {
    case 'document':
      return item.decodeAs === undefined
        ? { document: Buffer.from(item.bytes).toString('utf8') }
        : {
            document: Buffer.from(item.bytes).toString('utf8'),
            decodeAs: Buffer.from(item.decodeAs).toString('utf8'),
          };
    case 'refused':
      return { refused: item.code, message: item.message };
    case 'broken':
      return { broken: item.code, message: item.message };
  }
}

const small: SplitLimits = { maxDocumentBytes: 40, maxNesting: 8 };

describe('NDJSON', () => {
  it('yields each non-blank line as it stands, without its line end', async () => {
    expect(await split('{"a":1}\n\n  \r\n{"b":"x\\ny"}\r\n{"c":3}', 'ndjson')).toEqual([
      { document: '{"a":1}' },
      { document: '{"b":"x\\ny"}' },
      { document: '{"c":3}' },
    ]);
  });

  it('keeps a broken line to itself and refuses an oversize one without buffering it', async () => {
    const long = `{"x":"${'y'.repeat(100)}"}`;
    expect(await split(`{"a":\n${long}\n{"b":2}\n`, 'ndjson', [], small)).toEqual([
      { document: '{"a":' },
      { refused: 'PAYLOAD_TOO_LARGE', message: 'document is larger than 40 bytes' },
      { document: '{"b":2}' },
    ]);
  });

  it('calls an input without documents empty', async () => {
    expect(await split('\n \n', 'ndjson')).toEqual([
      { broken: 'MALFORMED_DOCUMENT', message: 'the batch is empty' },
    ]);
  });
});

describe('JSON', () => {
  it('cuts an array into its elements, strings and nesting respected', async () => {
    const input = '\uFEFF [ {"a":"],}\\"{"} ,\n{"b":[1,{"c":2}]},"text", 7 ]\n';
    expect(await split(input, 'json')).toEqual([
      { document: '{"a":"],}\\"{"}' },
      { document: '{"b":[1,{"c":2}]}' },
      { document: '"text"' },
      { document: '7' },
    ]);
  });

  it('takes anything that is not an array as one document, byte for byte', async () => {
    const input = '  {"header":{}}\n';
    expect(await split(input, 'json')).toEqual([{ document: input }]);
    expect(await split('not json', 'json')).toEqual([{ document: 'not json' }]);
  });

  it('reads an empty array as no documents', async () => {
    expect(await split(' [ ] ', 'json')).toEqual([]);
  });

  it('refuses missing elements at their position and oversize ones, and goes on', async () => {
    expect(await split(`[{"a":1},,{"b":"${'z'.repeat(60)}"},{"c":3},]`, 'json', [], small)).toEqual(
      [
        { document: '{"a":1}' },
        { refused: 'MALFORMED_DOCUMENT', message: expect.stringContaining('missing') },
        { refused: 'PAYLOAD_TOO_LARGE', message: 'document is larger than 40 bytes' },
        { document: '{"c":3}' },
        { refused: 'MALFORMED_DOCUMENT', message: expect.stringContaining('missing') },
      ],
    );
  });

  it.each([
    ['[{"a":1}}, {"b":2}]', 'without a matching'],
    ['[{"a":[1}]', 'does not match'],
    ['[{"a":1}', 'not closed'],
    ['[{"a":"unterminated]', 'not closed'],
    ['[1] 2', 'after the closing'],
    [`[${'['.repeat(9)}`, 'nested deeper than 8'],
  ])('stops at broken structure: %s', async (input, reason) => {
    const seen = await split(input, 'json', [], small);
    expect(seen.at(-1)).toEqual({
      broken: 'MALFORMED_DOCUMENT',
      message: expect.stringContaining(reason),
    });
    expect(seen.filter((s) => 'broken' in s)).toHaveLength(1);
  });

  it('calls whitespace empty', async () => {
    expect(await split(' \n', 'json')).toEqual([
      { broken: 'MALFORMED_DOCUMENT', message: 'the batch is empty' },
    ]);
  });
});

describe('XML', () => {
  const ns = 'urn:nakadachi:1';

  it('cuts <Batch> into its children; children inherit the namespace for the decoder only', async () => {
    const input =
      `<?xml version="1.0" encoding="UTF-8"?>\n<!-- a batch -->\n<Batch xmlns="${ns}">\n` +
      `  <A><B x="1>2">t</B><!-- <C> --><![CDATA[</A>]]></A>\n` +
      `  <?pi ?>\n  <D xmlns="${ns}"/>\n` +
      `  <E\n   y='/'/>\n</Batch>\n<!-- end -->\n`;
    expect(await split(input, 'xml')).toEqual([
      {
        document: '<A><B x="1>2">t</B><!-- <C> --><![CDATA[</A>]]></A>',
        decodeAs: `<A xmlns="${ns}"><B x="1>2">t</B><!-- <C> --><![CDATA[</A>]]></A>`,
      },
      { document: `<D xmlns="${ns}"/>` },
      { document: "<E\n   y='/'/>", decodeAs: `<E xmlns="${ns}"\n   y='/'/>` },
    ]);
  });

  it('leaves the namespace to each child when <Batch> declares none', async () => {
    expect(await split('<Batch><A/></Batch>', 'xml')).toEqual([{ document: '<A/>' }]);
  });

  it('takes any other root as one document, prolog included', async () => {
    const input = `<?xml version="1.0"?>\n<ItemNotice xmlns="${ns}"><Header/></ItemNotice>\n`;
    expect(await split(input, 'xml')).toEqual([{ document: input }]);
  });

  it('reads an empty batch as no documents', async () => {
    expect(await split(`<Batch xmlns="${ns}"/>`, 'xml')).toEqual([]);
    expect(await split(`<Batch xmlns="${ns}">\n</Batch>`, 'xml')).toEqual([]);
  });

  it('refuses an oversize document at its position and goes on', async () => {
    const input = `<Batch><A>${'x'.repeat(50)}</A><B/></Batch>`;
    expect(await split(input, 'xml', [], small)).toEqual([
      { refused: 'PAYLOAD_TOO_LARGE', message: 'document is larger than 40 bytes' },
      { document: '<B/>' },
    ]);
  });

  it.each([
    ['<!DOCTYPE x [<!ENTITY e "e">]><Batch/>', 'declarations are not allowed'],
    ['<Batch><A><!ENTITY e "x"></A></Batch>', 'declarations are not allowed'],
    ['<Batch><A></B></Batch>', 'where </A> belongs'],
    ['<Batch><A/>text<B/></Batch>', 'text between documents'],
    ['<Batch><A/></Batch><C/>', 'after the root element'],
    ['<Batch><A><B>', 'is not closed'],
    ['<Batch xmlns="urn:other"><A/></Batch>', 'must be in the namespace'],
    ['<?xml version="1.0" encoding="ISO-8859-1"?><Batch/>', 'use UTF-8'],
    [`<Batch>${'<a>'.repeat(9)}`, 'nested deeper than 8'],
    ['junk', 'text outside the root'],
  ])('stops at %s', async (input, reason) => {
    const seen = await split(input, 'xml', [], small);
    expect(seen.at(-1)).toEqual({
      broken: 'MALFORMED_DOCUMENT',
      message: expect.stringContaining(reason),
    });
  });

  it('calls whitespace empty', async () => {
    expect(await split('\n  ', 'xml')).toEqual([
      { broken: 'MALFORMED_DOCUMENT', message: 'the batch is empty' },
    ]);
  });
});

describe('chunking', () => {
  const inputs: [BatchFormat, string][] = [
    ['ndjson', '{"a":"é"}\r\n\n{"b":[1,2]}\n  \n{"c":"\\n"}'],
    ['json', ' [ {"a":"é,]"} , {"b":[1,{"c":"}"}]} ,"x"] '],
    [
      'xml',
      '<?xml version="1.0"?><Batch xmlns="urn:nakadachi:1"><!-- x --><A a="é>"><B/></A>' +
        '<?p x?><C><![CDATA[]]]]><![CDATA[>]]></C></Batch>',
    ],
  ];

  it('gives the same items however the bytes arrive', async () => {
    for (const [format, input] of inputs) {
      const whole = await split(input, format);
      expect(whole.length).toBeGreaterThan(1);
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1 }),
          async (sizes) => {
            expect(await split(input, format, sizes)).toEqual(whole);
          },
        ),
        { numRuns: 60 },
      );
    }
  });
});

describe('content types', () => {
  it.each([
    ['application/x-ndjson', 'ndjson'],
    ['application/ndjson; charset=utf-8', 'ndjson'],
    ['application/jsonl', 'ndjson'],
    ['application/json', 'json'],
    ['application/xml; charset=UTF-8', 'xml'],
    ['text/xml', 'xml'],
    ['application/x-ndjson; charset=latin1', undefined],
    ['text/plain', undefined],
  ])('%s → %s', (contentType, format) => {
    expect(batchFormatFromContentType(contentType)).toBe(format);
  });
});
