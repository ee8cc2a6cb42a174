import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec, codecFromEnv, ENCRYPTED_ENCODING } from '../../src/temporal/codec';
import { ConfigError, loadConfig } from '../../src/worker/config';

const key = randomBytes(32);
const codec = new AesGcmCodec(key, 'k1');
const payload = defaultPayloadConverter.toPayload({ spec: { name: 'sales-secretive' }, n: 1 });

describe('the AES-GCM payload codec', () => {
  test('round-trips a payload, metadata included, and the ciphertext shows none of it', async () => {
    const [sealed] = await codec.encode([payload]);
    assert.equal(Buffer.from(sealed!.metadata!.encoding!).toString(), ENCRYPTED_ENCODING);
    assert.ok(!Buffer.from(sealed!.data!).includes('sales-secretive'));
    assert.ok(!Buffer.from(sealed!.data!).includes('json/plain'));
    const [opened] = await codec.decode([sealed!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(opened!), { spec: { name: 'sales-secretive' }, n: 1 });
  });

  test('encrypts the same payload differently each time (a fresh IV)', async () => {
    const [a, b] = await codec.encode([payload, payload]);
    assert.notDeepEqual(Buffer.from(a!.data!), Buffer.from(b!.data!));
  });

  test('refuses a tampered payload', async () => {
    const [sealed] = await codec.encode([payload]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 1;
    await assert.rejects(codec.decode([{ ...sealed!, data }]));
  });

  test('names both key ids when a payload was encrypted with another key', async () => {
    const [sealed] = await new AesGcmCodec(randomBytes(32), 'k0').encode([payload]);
    await assert.rejects(codec.decode([sealed!]), /encrypted with key 'k0', this codec holds key 'k1'/);
  });

  test('passes unencrypted payloads through, so runs started before the key was set still decode', async () => {
    assert.deepEqual(await codec.decode([payload]), [payload]);
  });

  test('is off without GLUELINE_CODEC_KEY, and a key of the wrong length stops the worker without echoing it', () => {
    assert.equal(codecFromEnv({}), undefined);
    assert.equal(codecFromEnv({ GLUELINE_CODEC_KEY: key.toString('base64') })?.keyId, 'glueline');
    const short = randomBytes(16).toString('base64');
    const err = (() => {
      try {
        loadConfig({ SMTP_URL: 'smtp://127.0.0.1:25', GLUELINE_CODEC_KEY: short });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, /GLUELINE_CODEC_KEY \(value hidden: it holds a secret\) is 16 bytes .* not 32/);
    assert.ok(!err.message.includes(short));
  });
});
