/**
 * Configuration: read once from the environment at start-up, validated as a whole (every problem
 * is listed, not just the first), frozen and passed down. Nothing else reads process.env.
 */
import path from 'node:path';
import { GatewayError } from './core/errors.ts';

export type ProcessRole = 'all' | 'api' | 'jobs';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** PostgreSQL connection string; unset means the embedded PGlite database in dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  host: string;
  port: number;
  role: ProcessRole;
  gatewayId: string;
  adminToken: string | undefined;
  /** Read-only access to the admin API and the console (audit: search, verify, export). */
  auditorToken: string | undefined;
  logLevel: LogLevel;
  bodyLimitBytes: number;
  dbPoolSize: number;
  groupCommitLanes: number;
  groupCommitMax: number;
  /** Undefined: 256 on PostgreSQL, 64 on PGlite. */
  batchCommitMax: number | undefined;
  shutdownTimeoutMs: number;
  allowInsecureEndpoints: boolean;
  /** Default: DATA_DIR/signing-key.pem. */
  signingKeyFile: string;
  /** Documents per second per partner and process; 0 turns the limit off. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** The intermediary's commission, a decimal percentage of the deal total ("2.5"). */
  commissionRatePercent: string;
  confirmWindowS: number;
  tenderWindowS: number;
  checkValidityS: number;
  paymentRelease: 'on-demand' | 'on-delivery';
  /** Default: DATA_DIR/files. */
  fileDropRoot: string;
  /** Seconds between scans of the file-drop inboxes (a file watcher wakes the scan sooner). */
  fileDropScanIntervalS: number;
  /** How long an inbox file must keep its size and mtime before it is taken. */
  fileDropStableMs: number;
  /** Largest body of `POST /v1/batches` (streamed; BODY_LIMIT_BYTES does not apply to it). */
  batchBodyLimitBytes: number;
  deliveryRetryBaseMs: number;
  deliveryRetryMaxMs: number;
  deliveryMaxAttempts: number;
  deliveryMaxAgeS: number;
  deliveryTimeoutMs: number;
  deliveryLeaseMs: number;
  deliveryConcurrency: number;
  deliveryPerPartner: number;
}

interface Setting<K extends keyof Config> {
  env: string;
  key: K;
  description: string;
  /** The default as shown in the README; undefined = unset. */
  defaultText: string | undefined;
  parse: (raw: string | undefined) => Config[K];
}

class SettingProblem extends Error {}

function text(name: string, fallback?: string) {
  return (raw: string | undefined): string => {
    if (raw === undefined || raw === '') {
      if (fallback === undefined) throw new SettingProblem(`${name} is required`);
      return fallback;
    }
    return raw;
  };
}

function optionalText(raw: string | undefined): string | undefined {
  return raw === undefined || raw === '' ? undefined : raw;
}

/** A bearer token someone configures: long enough not to be guessed. */
function bearerSecret(raw: string | undefined): string | undefined {
  const token = optionalText(raw);
  if (token !== undefined && token.length < 24) {
    throw new SettingProblem('must be at least 24 characters');
  }
  return token;
}

function integer<F extends number | undefined>(min: number, max: number, fallback: F) {
  return (raw: string | undefined): number | F => {
    if (raw === undefined || raw === '') return fallback;
    if (!/^[0-9]+$/.test(raw)) throw new SettingProblem(`must be a whole number, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) {
      throw new SettingProblem(`must be between ${min} and ${max}, got ${raw}`);
    }
    return value;
  };
}

function flag(fallback: boolean) {
  return (raw: string | undefined): boolean => {
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new SettingProblem(`must be true or false, got "${raw}"`);
  };
}

function oneOf<T extends string>(choices: readonly T[], fallback: T) {
  return (raw: string | undefined): T => {
    if (raw === undefined || raw === '') return fallback;
    if (!(choices as readonly string[]).includes(raw)) {
      throw new SettingProblem(`must be one of ${choices.join(', ')}, got "${raw}"`);
    }
    return raw as T;
  };
}

const SETTINGS = [
  {
    env: 'DATABASE_URL',
    key: 'databaseUrl',
    description:
      'PostgreSQL connection string (`postgres://user@host:5432/db`). Unset: the embedded PGlite database in `DATA_DIR`.',
    defaultText: undefined,
    parse: (raw: string | undefined) => {
      const url = optionalText(raw);
      if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
        throw new SettingProblem('must start with postgres:// or postgresql://');
      }
      return url;
    },
  },
  {
    env: 'DATA_DIR',
    key: 'dataDir',
    description:
      'Folder for the embedded database, the gateway signing key and the lock file of a running gateway.',
    defaultText: './data',
    parse: (raw: string | undefined) => path.resolve(text('DATA_DIR', './data')(raw)),
  },
  {
    env: 'HOST',
    key: 'host',
    description: 'Address the HTTP server listens on.',
    defaultText: '0.0.0.0',
    parse: text('HOST', '0.0.0.0'),
  },
  {
    env: 'PORT',
    key: 'port',
    description: 'HTTP port (0 picks a free one).',
    defaultText: '8080',
    parse: integer(0, 65535, 8080),
  },
  {
    env: 'ROLE',
    key: 'role',
    description:
      '`api` serves HTTP, `jobs` runs the scheduled jobs, `all` does both. Run any number of each against one PostgreSQL.',
    defaultText: 'all',
    parse: oneOf<ProcessRole>(['all', 'api', 'jobs'], 'all'),
  },
  {
    env: 'GATEWAY_ID',
    key: 'gatewayId',
    description: 'Party id of the gateway itself: the sender of every outbound document.',
    defaultText: 'NAKADACHI',
    parse: (raw: string | undefined) => {
      const id = text('GATEWAY_ID', 'NAKADACHI')(raw);
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) {
        throw new SettingProblem('must be a party id: letters, digits, . _ - (at most 64)');
      }
      // It prefixes every outbound messageId, which travels as a Standard Webhooks id: that
      // scheme signs "id.timestamp.body", so an id with a dot could never be pushed.
      if (id.includes('.')) {
        throw new SettingProblem('must not contain "." (it prefixes outbound message ids)');
      }
      return id;
    },
  },
  {
    env: 'ADMIN_TOKEN',
    key: 'adminToken',
    description:
      'Bearer token of the admin API (`/admin/v1`), at least 24 characters. Unset: the admin API is off (the CLI still reaches a local gateway).',
    defaultText: undefined,
    parse: bearerSecret,
  },
  {
    env: 'AUDITOR_TOKEN',
    key: 'auditorToken',
    description:
      'Read-only bearer token for auditors, at least 24 characters: GET requests of the admin API (message search, timelines, audit verify and export) and a console login that can look but change nothing. Unset: no auditor access.',
    defaultText: undefined,
    parse: bearerSecret,
  },
  {
    env: 'LOG_LEVEL',
    key: 'logLevel',
    description: 'pino level: fatal, error, warn, info, debug, trace or silent.',
    defaultText: 'info',
    parse: oneOf<LogLevel>(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  },
  {
    env: 'BODY_LIMIT_BYTES',
    key: 'bodyLimitBytes',
    description: 'Largest request body accepted; larger ones get 413 before they are read in full.',
    defaultText: '1048576',
    parse: integer(1024, 256 * 1024 * 1024, 1024 * 1024),
  },
  {
    env: 'DB_POOL_SIZE',
    key: 'dbPoolSize',
    description: 'PostgreSQL connections per process (PGlite always has one).',
    defaultText: '10',
    parse: integer(1, 200, 10),
  },
  {
    env: 'GROUP_COMMIT_LANES',
    key: 'groupCommitLanes',
    description:
      'PostgreSQL transactions committing inbound documents at once (PGlite: always one). Fewer lanes make bigger batches, more lanes shorter waits: on a 2-core machine running the gateway, PostgreSQL and the load together, 4 took as many documents per second as 2 with a p99 latency about 10 ms lower. Must be below DB_POOL_SIZE.',
    defaultText: '4',
    parse: integer(1, 100, 4),
  },
  {
    env: 'GROUP_COMMIT_MAX',
    key: 'groupCommitMax',
    description:
      'Most inbound documents committed in one transaction when they arrive together (each is acknowledged after that commit); 1 gives every document a transaction of its own.',
    defaultText: '32',
    parse: integer(1, 1000, 32),
  },
  {
    env: 'BATCH_COMMIT_MAX',
    key: 'batchCommitMax',
    description:
      "Most documents of one batch or dropped file committed in one transaction, in file order (each is acknowledged after that commit). Larger transactions pay the commit less often; on PGlite they also grow the embedded database's memory, hence its smaller default.",
    defaultText: '256 (PGlite: 64)',
    parse: integer(1, 1000, undefined),
  },
  {
    env: 'SHUTDOWN_TIMEOUT_MS',
    key: 'shutdownTimeoutMs',
    description:
      'How long a stopping process waits for in-flight requests and jobs before it closes anyway.',
    defaultText: '10000',
    parse: integer(0, 600_000, 10_000),
  },
  {
    env: 'ALLOW_INSECURE_ENDPOINTS',
    key: 'allowInsecureEndpoints',
    description:
      'Allow push endpoints over plain http and to loopback or private addresses (local testing, private networks). Off: https to public addresses only.',
    defaultText: 'false',
    parse: flag(false),
  },
  {
    env: 'SIGNING_KEY_FILE',
    key: 'signingKeyFile',
    description:
      'Ed25519 private key (PEM, PKCS#8) that signs receipts and e-checks; generated on first start when missing. Processes sharing a database may share one key or have their own: every public key is published in the JWKS.',
    defaultText: 'DATA_DIR/signing-key.pem',
    parse: (raw: string | undefined) =>
      optionalText(raw) === undefined ? '' : path.resolve(raw as string),
  },
  {
    env: 'RATE_LIMIT_PER_SECOND',
    key: 'rateLimitPerSecond',
    description:
      'Sustained requests per second per partner (per process) on the partner API; 0 turns the limit off. Over it: 429 with Retry-After.',
    defaultText: '500',
    parse: integer(0, 1_000_000, 500),
  },
  {
    env: 'RATE_LIMIT_BURST',
    key: 'rateLimitBurst',
    description: 'Requests a partner may send at once above the sustained rate.',
    defaultText: '1000',
    parse: integer(1, 10_000_000, 1000),
  },
  {
    env: 'COMMISSION_RATE_PERCENT',
    key: 'commissionRatePercent',
    description:
      "The intermediary's commission in percent of a deal's total (sent in IntermediaryTerms, moved to the intermediary's account at payment), rounded down to the currency's minor unit.",
    defaultText: '2.5',
    parse: (raw: string | undefined) => {
      const value = text('COMMISSION_RATE_PERCENT', '2.5')(raw);
      if (!/^(0|[1-9][0-9]?)(\.[0-9]{1,4})?$|^100(\.0{1,4})?$/.test(value)) {
        throw new SettingProblem(
          `must be a decimal percentage from 0 to 100 like "2.5", got "${value}"`,
        );
      }
      return value;
    },
  },
  {
    env: 'CONFIRM_WINDOW_S',
    key: 'confirmWindowS',
    description:
      'Time the buyer and the selected seller have to confirm an award; a missed confirm-by awards the next eligible bid.',
    defaultText: '86400',
    parse: integer(1, 90 * 86_400, 86_400),
  },
  {
    env: 'TENDER_WINDOW_S',
    key: 'tenderWindowS',
    description: 'Time settlement organs and carriers have to answer a tender with their terms.',
    defaultText: '86400',
    parse: integer(1, 90 * 86_400, 86_400),
  },
  {
    env: 'CHECK_VALIDITY_S',
    key: 'checkValidityS',
    description:
      'Validity of an issued e-check; an unpresented check expires after it and its hold is released.',
    defaultText: '2592000',
    parse: integer(60, 365 * 86_400, 30 * 86_400),
  },
  {
    env: 'PAYMENT_RELEASE',
    key: 'paymentRelease',
    description:
      '`on-demand`: a payment demand moves the funds at once. `on-delivery` (escrow): the demand is accepted and the funds move at DeliveryComplete.',
    defaultText: 'on-demand',
    parse: oneOf<'on-demand' | 'on-delivery'>(['on-demand', 'on-delivery'], 'on-demand'),
  },
  {
    env: 'FILE_DROP_ROOT',
    key: 'fileDropRoot',
    description:
      'Root of the file-drop folders: `<root>/<partner>/inbox`, `outbox`, `receipts`, `processed`, `failed`.',
    defaultText: 'DATA_DIR/files',
    parse: (raw: string | undefined) =>
      optionalText(raw) === undefined ? '' : path.resolve(raw as string),
  },
  {
    env: 'FILE_DROP_SCAN_INTERVAL_S',
    key: 'fileDropScanIntervalS',
    description:
      'Seconds between scans of every file-drop inbox; a file watcher wakes the scan as soon as a file appears, so this is the safety net.',
    defaultText: '10',
    parse: integer(1, 60, 10),
  },
  {
    env: 'FILE_DROP_STABLE_MS',
    key: 'fileDropStableMs',
    description:
      'How long a dropped file must keep the same size and modification time before it is taken (for clients that cannot upload as `.part`/`.tmp` and rename).',
    defaultText: '2000',
    parse: integer(0, 3_600_000, 2000),
  },
  {
    env: 'BATCH_BODY_LIMIT_BYTES',
    key: 'batchBodyLimitBytes',
    description:
      'Largest body of `POST /v1/batches` (streamed to disk, never held in memory); larger ones get 413. Each document in it is still limited to 1 MiB.',
    defaultText: '104857600',
    parse: integer(1024, 16 * 1024 * 1024 * 1024, 100 * 1024 * 1024),
  },
  {
    env: 'DELIVERY_RETRY_BASE_MS',
    key: 'deliveryRetryBaseMs',
    description: 'First retry delay of a failed push; it doubles per attempt, with full jitter.',
    defaultText: '1000',
    parse: integer(1, 3_600_000, 1000),
  },
  {
    env: 'DELIVERY_RETRY_MAX_MS',
    key: 'deliveryRetryMaxMs',
    description: "Longest retry delay (a partner's Retry-After may ask for more and gets it).",
    defaultText: '3600000',
    parse: integer(1, 86_400_000, 3_600_000),
  },
  {
    env: 'DELIVERY_MAX_ATTEMPTS',
    key: 'deliveryMaxAttempts',
    description: 'Attempts before a delivery moves to the dead letters.',
    defaultText: '12',
    parse: integer(1, 1000, 12),
  },
  {
    env: 'DELIVERY_MAX_AGE_S',
    key: 'deliveryMaxAgeS',
    description: 'Age after which an undelivered document moves to the dead letters.',
    defaultText: '172800',
    parse: integer(1, 30 * 86_400, 172_800),
  },
  {
    env: 'DELIVERY_TIMEOUT_MS',
    key: 'deliveryTimeoutMs',
    description: 'Time limit of one push attempt (connect, send, response).',
    defaultText: '10000',
    parse: integer(100, 300_000, 10_000),
  },
  {
    env: 'DELIVERY_LEASE_MS',
    key: 'deliveryLeaseMs',
    description:
      "How long a worker holds a claimed delivery; a crashed worker's claims return after it. Must exceed DELIVERY_TIMEOUT_MS.",
    defaultText: '60000',
    parse: integer(1000, 3_600_000, 60_000),
  },
  {
    env: 'DELIVERY_CONCURRENCY',
    key: 'deliveryConcurrency',
    description: 'Pushes in flight per process, to all partners together.',
    defaultText: '64',
    parse: integer(1, 1024, 64),
  },
  {
    env: 'DELIVERY_PER_PARTNER',
    key: 'deliveryPerPartner',
    description:
      'Pushes in flight per process to any one partner, so that one slow partner cannot hold them all. The push client opens at most 64 connections to one host: pushes beyond them wait for one, within DELIVERY_TIMEOUT_MS.',
    defaultText: '8',
    parse: integer(1, 1024, 8),
  },
] as const satisfies readonly Setting<keyof Config>[];

/** Prefixes that only this gateway uses: an unknown variable with one of them is a typo. */
const OWN_PREFIXES = [
  'DATABASE_',
  'DATA_DIR',
  'ADMIN_',
  'AUDITOR_',
  'GATEWAY_',
  'DB_',
  'BODY_LIMIT',
  'SHUTDOWN_',
  'FILE_DROP_',
  'BATCH_',
];

export interface SettingDescription {
  env: string;
  description: string;
  defaultText: string | undefined;
}

export function describeSettings(): readonly SettingDescription[] {
  return SETTINGS.map(({ env, description, defaultText }) => ({ env, description, defaultText }));
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): Readonly<Config> {
  const problems: string[] = [];
  const values: Partial<Record<keyof Config, unknown>> = {};
  for (const setting of SETTINGS) {
    try {
      values[setting.key] = setting.parse(env[setting.env]);
    } catch (error) {
      if (!(error instanceof SettingProblem)) throw error;
      problems.push(`${setting.env}: ${error.message}`);
    }
  }
  const known = new Set<string>(SETTINGS.map((s) => s.env));
  for (const name of Object.keys(env)) {
    if (!known.has(name) && OWN_PREFIXES.some((prefix) => name.startsWith(prefix))) {
      problems.push(`${name}: unknown setting (see the configuration table in the README)`);
    }
  }
  if (
    typeof values.deliveryLeaseMs === 'number' &&
    typeof values.deliveryTimeoutMs === 'number' &&
    values.deliveryLeaseMs <= values.deliveryTimeoutMs
  ) {
    problems.push('DELIVERY_LEASE_MS: must be longer than DELIVERY_TIMEOUT_MS');
  }
  if (
    typeof values.groupCommitLanes === 'number' &&
    typeof values.dbPoolSize === 'number' &&
    values.groupCommitLanes >= values.dbPoolSize
  ) {
    // The lanes hold their connections while they commit: reads and jobs need one besides.
    problems.push('GROUP_COMMIT_LANES: must be below DB_POOL_SIZE');
  }
  if (values.auditorToken !== undefined && values.auditorToken === values.adminToken) {
    problems.push('AUDITOR_TOKEN: must differ from ADMIN_TOKEN (it grants less)');
  }
  if (typeof values.dataDir === 'string') {
    if (values.fileDropRoot === '') values.fileDropRoot = path.join(values.dataDir, 'files');
    if (values.signingKeyFile === '')
      values.signingKeyFile = path.join(values.dataDir, 'signing-key.pem');
  }
  if (problems.length > 0) {
    throw new GatewayError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze(values as Config);
}
