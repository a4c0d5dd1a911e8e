/**
 * The validator registry: every document schema compiled once at start-up, with its XML binding.
 * Nothing here is built per request; `validate` is a map lookup plus the compiled ajv function.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ErrorDetail } from '../gateway/core/errors.ts';
import { GatewayError } from '../gateway/core/errors.ts';
import type { CanonicalDocument } from '../gateway/core/document.ts';
import type { JsonSchema, ObjectBinding } from '../adapters/codec/binding.ts';
import {
  COMMON_SCHEMA_ID,
  TYPE_SCHEMA_ID_PREFIX,
  deriveBinding,
} from '../adapters/codec/binding.ts';
import { pointerSegment } from '../adapters/codec/common.ts';

export type ValidationResult =
  { ok: true; document: CanonicalDocument } | { ok: false; errors: ErrorDetail[] };

export interface SchemaRegistry {
  /** Document type names, sorted. */
  readonly types: readonly string[];
  has(type: string): boolean;
  /**
   * Validates a decoded document against the schema of its `header.type`, or of `type` when
   * given (the XML root names the type; the schema's const then checks `header.type`).
   */
  validate(doc: unknown, type?: string): ValidationResult;
  /** The JSON Schema of a type as loaded (deep-frozen), for publishing; `common` included. */
  schema(type: string): JsonSchema | undefined;
  /** The XML binding of a type, derived from its schema at start-up. */
  binding(type: string): ObjectBinding | undefined;
}

export const MAX_ERRORS_PER_DOCUMENT = 20;

const SCHEMA_SUFFIX = '.schema.json';
const DEFAULT_SCHEMA_DIR = fileURLToPath(new URL('.', import.meta.url));

// ajv-formats is CommonJS with `exports.default`; under NodeNext its default import is the module.
const addFormats = addFormatsModule.default;

interface CompiledType {
  readonly validate: ValidateFunction;
  readonly binding: ObjectBinding;
}

export function createSchemaRegistry(dir: string = DEFAULT_SCHEMA_DIR): SchemaRegistry {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  // An annotation only: the XML item element name of an array.
  ajv.addKeyword({ keyword: 'xmlItem', schemaType: 'string' });

  const common = loadSchema(join(dir, `common${SCHEMA_SUFFIX}`));
  if (common.$id !== COMMON_SCHEMA_ID) {
    throw new GatewayError('CONFIG_INVALID', `common schema must have $id ${COMMON_SCHEMA_ID}`);
  }
  ajv.addSchema(common);

  const files = readdirSync(dir)
    .filter((f) => f.endsWith(SCHEMA_SUFFIX) && f !== `common${SCHEMA_SUFFIX}`)
    .sort();
  const raw = new Map<string, JsonSchema>([['common', common]]);
  const byId = new Map<string, JsonSchema>([[COMMON_SCHEMA_ID, common]]);
  for (const file of files) {
    const type = file.slice(0, -SCHEMA_SUFFIX.length);
    const schema = loadSchema(join(dir, file));
    if (schema.$id !== TYPE_SCHEMA_ID_PREFIX + type) {
      throw new GatewayError(
        'CONFIG_INVALID',
        `${file}: $id must be ${TYPE_SCHEMA_ID_PREFIX}${type}`,
      );
    }
    raw.set(type, schema);
    byId.set(TYPE_SCHEMA_ID_PREFIX + type, schema);
  }

  const compiled = new Map<string, CompiledType>();
  for (const [type, schema] of raw) {
    if (type === 'common') continue;
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(schema);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new GatewayError('CONFIG_INVALID', `${type}${SCHEMA_SUFFIX}: ${reason}`, { cause });
    }
    const binding = deriveBinding(schema, byId);
    checkEnvelope(type, binding);
    compiled.set(type, { validate, binding });
  }
  for (const schema of raw.values()) deepFreeze(schema);

  const types = Object.freeze([...compiled.keys()]);

  return {
    types,
    has: (type) => compiled.has(type),
    schema: (type) => raw.get(type),
    binding: (type) => compiled.get(type)?.binding,
    validate(doc, type) {
      const name = type ?? documentType(doc);
      if (typeof name !== 'string') return name;
      const entry = compiled.get(name);
      if (entry === undefined) {
        return typeError('UNSUPPORTED_DOCUMENT_TYPE', `unknown document type "${name}"`);
      }
      if (entry.validate(doc)) return { ok: true, document: doc as CanonicalDocument };
      return { ok: false, errors: translateErrors(entry.validate.errors ?? []) };
    },
  };
}

function loadSchema(file: string): JsonSchema {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new GatewayError('CONFIG_INVALID', `cannot load schema ${file}: ${reason}`, { cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GatewayError('CONFIG_INVALID', `schema ${file} is not an object`);
  }
  return parsed as JsonSchema;
}

/**
 * The XML root names the type and XML is validated against that type's schema, so the schema
 * must pin `header.type` to its own name or a document could claim another type in its header.
 */
function checkEnvelope(type: string, binding: ObjectBinding): void {
  const header = binding.byName.get('header')?.node;
  const typeNode = header?.kind === 'object' ? header.byName.get('type')?.node : undefined;
  if (binding.byName.get('body')?.node.kind !== 'object' || typeNode?.schema.const !== type) {
    throw new GatewayError(
      'CONFIG_INVALID',
      `${type}${SCHEMA_SUFFIX}: needs object header and body, with header.type const "${type}"`,
    );
  }
}

function documentType(doc: unknown): string | { ok: false; errors: ErrorDetail[] } {
  if (!isObject(doc)) {
    return {
      ok: false,
      errors: [{ path: '', code: 'SCHEMA_VIOLATION', message: 'must be an object' }],
    };
  }
  const header = doc.header;
  const type = isObject(header) ? header.type : undefined;
  if (typeof type === 'string') return type;
  return typeError(
    'SCHEMA_VIOLATION',
    type === undefined ? 'is required' : 'must be a string naming the document type',
  );
}

function typeError(
  code: 'SCHEMA_VIOLATION' | 'UNSUPPORTED_DOCUMENT_TYPE',
  message: string,
): { ok: false; errors: ErrorDetail[] } {
  return { ok: false, errors: [{ path: '/header/type', code, message }] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Friendly messages for the common definitions, by `$defs` name (and property), then keyword. */
const DEF_MESSAGES: Readonly<Record<string, string>> = {
  'money.amount/pattern': 'must be a decimal string like "1200.50"',
  'money.currency/pattern': 'must be a three-letter ISO 4217 currency code like "JPY"',
  'partyId/pattern': 'must be a party id: a letter or digit, then up to 63 of A-Z a-z 0-9 . _ -',
  'messageId/pattern':
    'must be a message id: a letter or digit, then up to 127 of A-Z a-z 0-9 . _ : -',
  'gatewayId/pattern':
    'must be a gateway id: a letter or digit, then up to 127 of A-Z a-z 0-9 . _ : -',
  'reference/pattern':
    'must be a reference: a letter or digit, then up to 63 of A-Z a-z 0-9 . _ : / # -',
  'decimal/pattern': 'must be a non-negative decimal string like "2.5"',
  'regionCode/pattern': 'must be a country or subdivision code like "JP" or "JP-13"',
  'category/pattern': 'must be a category path of lower-case slugs like "audio/headphones"',
  'jws/pattern': 'must be a JWS compact serialization (header.payload.signature)',
  'dateTime/format': 'must be an RFC 3339 date-time with offset like "2031-04-01T09:30:00Z"',
  'date/format': 'must be a date like "2031-04-01"',
  'address.country/pattern': 'must be a two-letter ISO 3166-1 country code like "JP"',
  'quantity/type': 'must be a whole number',
};

const COMMON_DEF_PATH = /#\/\$defs\/([^/]+)(?:\/properties\/([^/]+))?\/([^/]+)$/;

function translateErrors(errors: readonly ErrorObject[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const error of errors) {
    if (details.length === MAX_ERRORS_PER_DOCUMENT) break;
    details.push(translateError(error));
  }
  return details;
}

function translateError(error: ErrorObject): ErrorDetail {
  const params = error.params as Record<string, unknown>;
  let path = error.instancePath;
  let message: string;
  switch (error.keyword) {
    case 'required':
      path += `/${pointerSegment(String(params.missingProperty))}`;
      message = 'is required';
      break;
    case 'additionalProperties':
      path += `/${pointerSegment(String(params.additionalProperty))}`;
      message = 'is not allowed here';
      break;
    case 'type':
      message = TYPE_MESSAGES[String(params.type)] ?? `must be of type ${String(params.type)}`;
      break;
    case 'const':
      message = `must be ${JSON.stringify(params.allowedValue)}`;
      break;
    case 'enum':
      message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    default:
      message = error.message ?? `fails ${error.keyword}`;
  }
  const def = COMMON_DEF_PATH.exec(error.schemaPath);
  if (def !== null && error.schemaPath.startsWith(COMMON_SCHEMA_ID)) {
    const key = def[2] === undefined ? `${def[1]}/${def[3]}` : `${def[1]}.${def[2]}/${def[3]}`;
    message = DEF_MESSAGES[key] ?? message;
  }
  return { path, code: 'SCHEMA_VIOLATION', message };
}

const TYPE_MESSAGES: Readonly<Record<string, string>> = {
  string: 'must be a string',
  integer: 'must be an integer',
  boolean: 'must be true or false',
  object: 'must be an object',
  array: 'must be an array',
};

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}
