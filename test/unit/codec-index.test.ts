/**
 * The codec entry point: one result shape for both wire forms, and the Content-Type mapping.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodeDocument,
  encodeDocument,
  formatFromContentType,
} from '../../adapters/codec/index.ts';
import type { CanonicalDocument, WireFormat } from '../../gateway/core/document.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/codec/', import.meta.url));
const registry = createSchemaRegistry(join(FIXTURES, 'schemas'));
const widgetJson = readFileSync(join(FIXTURES, 'widget.json'), 'utf8');
const widgetXml = readFileSync(join(FIXTURES, 'widget.xml'), 'utf8');
const widget = JSON.parse(widgetJson) as CanonicalDocument;

describe('decodeDocument', () => {
  it.each<[WireFormat, string]>([
    ['json', widgetJson],
    ['xml', widgetXml],
  ])('decodes and validates %s to the same document', (format, text) => {
    expect(decodeDocument(text, format, registry)).toEqual({ ok: true, document: widget });
    expect(decodeDocument(Buffer.from(text), format, registry)).toEqual({
      ok: true,
      document: widget,
    });
  });

  it('gives the same schema errors for both forms', () => {
    const doc = structuredClone(widget);
    doc.body.count = 'many';
    doc.body.colour = 'red';
    delete doc.body.name;
    const expected = {
      ok: false,
      code: 'SCHEMA_VIOLATION',
      errors: [
        { path: '/body/name', code: 'SCHEMA_VIOLATION', message: 'is required' },
        { path: '/body/colour', code: 'SCHEMA_VIOLATION', message: 'is not allowed here' },
        { path: '/body/count', code: 'SCHEMA_VIOLATION', message: 'must be an integer' },
      ],
    };
    // (toMatchObject compares arrays element by element, same length: the errors are exact)
    const fromJson = decodeDocument(JSON.stringify(doc), 'json', registry);
    expect(fromJson).toMatchObject(expected);
    // the invalid value is handed back, so a rejection receipt can name the document's messageId
    expect(fromJson).toMatchObject({ decoded: { header: { type: 'Widget' } } });
    const xml = widgetXml
      .replace('<Count>0</Count>', '<Count>many</Count><Colour>red</Colour>')
      .replace(/<Name>.*<\/Name>/, '');
    expect(decodeDocument(xml, 'xml', registry)).toMatchObject(expected);
  });

  it('names the outcome: malformed, too large, unsupported type', () => {
    expect(decodeDocument('{', 'json', registry)).toMatchObject({
      ok: false,
      code: 'MALFORMED_DOCUMENT',
      errors: [{ code: 'MALFORMED_DOCUMENT', path: '' }],
    });
    expect(decodeDocument('<a>1</b>', 'xml', registry)).toMatchObject({
      ok: false,
      code: 'MALFORMED_DOCUMENT',
    });
    expect(decodeDocument(widgetJson, 'json', registry, { maxBytes: 10 })).toMatchObject({
      ok: false,
      code: 'PAYLOAD_TOO_LARGE',
    });
    const sprocket = widgetJson.replace('"type": "Widget"', '"type": "Sprocket"');
    expect(decodeDocument(sprocket, 'json', registry)).toMatchObject({
      ok: false,
      code: 'UNSUPPORTED_DOCUMENT_TYPE',
      errors: [
        {
          path: '/header/type',
          code: 'UNSUPPORTED_DOCUMENT_TYPE',
          message: 'unknown document type "Sprocket"',
        },
      ],
    });
    expect(decodeDocument('<Sprocket xmlns="urn:nakadachi:1"/>', 'xml', registry)).toMatchObject({
      ok: false,
      code: 'UNSUPPORTED_DOCUMENT_TYPE',
    });
  });
});

describe('encodeDocument', () => {
  it.each<WireFormat>(['json', 'xml'])('%s round-trips', (format) => {
    const text = encodeDocument(widget, format, registry);
    expect(decodeDocument(text, format, registry)).toEqual({ ok: true, document: widget });
  });
});

describe('formatFromContentType', () => {
  it.each<[string | undefined, WireFormat | undefined]>([
    ['application/xml', 'xml'],
    ['text/xml', 'xml'],
    ['application/xml; charset=utf-8', 'xml'],
    ['Application/XML;Charset="UTF-8"', 'xml'],
    ['application/vnd.nakadachi+xml', 'xml'],
    ['application/json', 'json'],
    ['application/json;charset=utf-8', 'json'],
    ['  application/json  ', 'json'],
    ['application/vnd.nakadachi.v1+json; charset=UTF-8', 'json'],
    ['application/problem+json', 'json'],
    ['application/xml; charset=iso-8859-1', undefined],
    ['application/json; charset=utf-16', undefined],
    ['text/plain', undefined],
    ['text/json', undefined],
    ['application/x-ndjson', undefined],
    ['application/xml-dtd', undefined],
    ['application/jsonx', undefined],
    ['multipart/form-data; boundary=x', undefined],
    ['xml', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %s', (contentType, expected) => {
    expect(formatFromContentType(contentType)).toBe(expected);
  });
});
