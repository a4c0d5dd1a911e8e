/**
 * Gateway signatures: compact JWS (EdDSA / Ed25519) that any JOSE library verifies with the keys
 * published at /.well-known/jwks.json. Signing uses node:crypto directly — about three times
 * faster than WebCrypto through jose, which matters when every receipt is signed — while the
 * tests verify every signature with jose.
 *
 * Receipts are signed on a worker thread (`signOffThread`): a signature costs ~40 µs of a core —
 * a tenth of the gateway's own work per document under HTTP ingest, a fifth in a file drop — and
 * on the worker it is made while the document's transaction goes on: the gateway's thread decodes
 * and validates the next documents, and the second core, otherwise left to the database, signs.
 */
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { calculateJwkThumbprint, type JWK } from 'jose';

export interface Signer {
  keyId: string;
  publicJwk: JWK;
  /** A compact JWS over the payload (a JSON string or bytes), signed here and now. */
  sign(payload: string | Uint8Array): string;
  /**
   * The same JWS, signed on the signing worker (started on first use). Payloads asked for in the
   * same turn of the event loop travel in one message.
   */
  signOffThread(payload: string): Promise<string>;
  /** Stops the signing worker, if it runs; signatures still awaited are refused. */
  close(): Promise<void>;
}

export async function createSigner(privateKey: KeyObject): Promise<Signer> {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the gateway signing key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  }
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const keyId = await calculateJwkThumbprint(jwk);
  const publicJwk: JWK = { ...jwk, kid: keyId, alg: 'EdDSA', use: 'sig' };
  const protectedHeader = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: keyId })).toString(
    'base64url',
  );
  const signingInput = (payload: string | Uint8Array) =>
    `${protectedHeader}.${Buffer.from(payload).toString('base64url')}`;
  const worker = signingWorker(privateKey);
  return {
    keyId,
    publicJwk,
    sign(payload) {
      const input = signingInput(payload);
      return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
    },
    async signOffThread(payload) {
      const input = signingInput(payload);
      return `${input}.${await worker.sign(input)}`;
    },
    close: () => worker.close(),
  };
}

/** What the worker runs: base64url Ed25519 signatures of the inputs, in order, per message. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { sign } = require('node:crypto');
parentPort.on('message', ({ id, inputs }) => {
  const signatures = inputs.map((input) =>
    sign(null, Buffer.from(input), workerData.privateKey).toString('base64url'));
  parentPort.postMessage({ id, signatures });
});
`;

interface Waiting {
  input: string;
  resolve(signature: string): void;
  reject(error: unknown): void;
}

/**
 * One worker thread, started when first needed and again after it stops. It holds the process
 * open only while signatures are awaited. If it fails, the signatures awaited from it are refused
 * (the documents' transactions fail; a batch reruns them) and the next request starts another.
 */
function signingWorker(privateKey: KeyObject) {
  let worker: Worker | undefined;
  let queued: Waiting[] = [];
  const sent = new Map<number, Waiting[]>();
  let nextId = 0;

  function start(): Worker {
    const started = new Worker(WORKER_SOURCE, { eval: true, workerData: { privateKey } });
    started.unref();
    started.on('message', ({ id, signatures }: { id: number; signatures: string[] }) => {
      const waiting = sent.get(id) ?? [];
      sent.delete(id);
      waiting.forEach((w, i) => w.resolve(signatures[i]!));
      if (sent.size === 0) started.unref();
    });
    const fail = (error: unknown) => {
      if (worker === started) worker = undefined;
      for (const waiting of sent.values()) for (const w of waiting) w.reject(error);
      sent.clear();
    };
    started.on('error', fail);
    started.on('exit', (code) => fail(new Error(`the signing worker stopped (exit code ${code})`)));
    return started;
  }

  function send(): void {
    const waiting = queued;
    queued = [];
    try {
      worker ??= start();
      const id = nextId++;
      if (sent.size === 0) worker.ref();
      sent.set(id, waiting);
      worker.postMessage({ id, inputs: waiting.map((w) => w.input) });
    } catch (error) {
      for (const w of waiting) w.reject(error);
    }
  }

  return {
    sign(input: string): Promise<string> {
      return new Promise((resolve, reject) => {
        if (queued.length === 0) setImmediate(send);
        queued.push({ input, resolve, reject });
      });
    },
    async close(): Promise<void> {
      const stopping = worker;
      worker = undefined;
      await stopping?.terminate();
    },
  };
}
