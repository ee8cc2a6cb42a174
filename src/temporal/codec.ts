/**
 * An AES-256-GCM payload codec. With GLUELINE_CODEC_KEY set, the worker and the starters encrypt every payload
 * they hand to Temporal (workflow inputs and results, activity arguments and results, heartbeat details,
 * queries), so the server and its histories hold only ciphertext. A payload carries the key's id, never the key.
 * `npm run codec-server` serves the same codec over HTTP for the Temporal UI and `temporal --codec-endpoint`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** The `encoding` metadata of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/** A payload as bytes: its metadata and data, base64, in JSON (so no protobuf dependency is needed). */
function serialize(p: Payload): Buffer {
  const metadata = Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
  return Buffer.from(JSON.stringify({ metadata, data: Buffer.from(p.data ?? []).toString('base64') }));
}

function deserialize(bytes: Buffer): Payload {
  const { metadata, data } = JSON.parse(bytes.toString('utf8')) as { metadata: Record<string, string>; data: string };
  return {
    metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(data, 'base64'),
  };
}

/** Encrypts payloads with one AES-256 key; decrypts those that name it and passes others through. */
export class AesGcmCodec implements PayloadCodec {
  private readonly key: Buffer;

  /**
   * @param key 32 bytes
   * @param keyId names the key in every payload, so a rotated key's payloads can be told apart
   */
  constructor(
    key: Uint8Array,
    readonly keyId: string,
  ) {
    if (key.length !== 32) throw new Error(`an AES-256 key is 32 bytes, got ${key.length}`);
    this.key = Buffer.from(key);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.key, iv);
      const sealed = Buffer.concat([cipher.update(serialize(p)), cipher.final()]);
      return {
        metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID]: utf8(this.keyId) },
        data: Buffer.concat([iv, sealed, cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (text(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
      const keyId = text(p.metadata?.[KEY_ID]);
      if (keyId !== this.keyId) {
        throw new Error(
          `a payload was encrypted with key '${keyId}', this codec holds key '${this.keyId}': set GLUELINE_CODEC_KEY to that key`,
        );
      }
      const data = Buffer.from(p.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      return deserialize(
        Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]),
      );
    });
  }
}

/**
 * The codec GLUELINE_CODEC_KEY (32 bytes, base64) and GLUELINE_CODEC_KEY_ID (@default 'glueline') configure,
 * or undefined when no key is set (payloads then travel as plain JSON).
 */
export function codecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmCodec | undefined {
  const key = env.GLUELINE_CODEC_KEY;
  if (!key) return undefined;
  const bytes = Buffer.from(key, 'base64');
  if (bytes.length !== 32) {
    throw new Error(
      `GLUELINE_CODEC_KEY (value hidden: it holds a secret) is ${bytes.length} bytes once base64-decoded, not 32: ` +
        'make one with `openssl rand -base64 32`',
    );
  }
  return new AesGcmCodec(bytes, env.GLUELINE_CODEC_KEY_ID || 'glueline');
}
