/** Documents for tests: the schema examples, re-addressed and adjusted as a test needs. */
import fs from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import { newId } from '../../gateway/core/ids.ts';

const EXAMPLES = path.join(import.meta.dirname, '../../schemas/examples');

export function exampleText(type: string, format: 'json' | 'xml'): string {
  return fs.readFileSync(path.join(EXAMPLES, `${type}.${format}`), 'utf8');
}

export interface TestDocument {
  header: Record<string, string>;
  body: Record<string, unknown>;
}

/** The JSON example of a type, sent by `sender` under a fresh messageId, body fields replaced. */
export function exampleDocument(
  type: string,
  sender: string,
  body: Record<string, unknown> = {},
): TestDocument {
  const doc = JSON.parse(exampleText(type, 'json')) as TestDocument;
  doc.header.sender = sender;
  doc.header.messageId = newId(sender);
  doc.body = { ...doc.body, ...body };
  return doc;
}

export async function post(
  app: Hono<any>,
  apiKey: string,
  payload: string | Uint8Array,
  contentType = 'application/json',
  headers: Record<string, string> = {},
): Promise<Response> {
  return app.request('/v1/documents', {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': contentType, ...headers },
    body: payload,
  });
}

export async function postDocument(
  app: Hono<any>,
  apiKey: string,
  doc: TestDocument,
): Promise<Response> {
  return post(app, apiKey, JSON.stringify(doc));
}

/** The receipt body of a JSON response. */
export async function receiptOf(response: Response): Promise<Record<string, any>> {
  const json = (await response.json()) as { body?: Record<string, any>; error?: unknown };
  if (json.body === undefined) throw new Error(`not a receipt: ${JSON.stringify(json)}`);
  return json.body;
}
