/**
 * `npm run codec-server`: the payload codec (src/temporal/codec.ts) over HTTP, as the Temporal UI and
 * `temporal workflow show --codec-endpoint` call it: POST /decode and /encode with `{ payloads: [...] }`
 * (Payload in proto JSON: metadata values and data in base64). Anyone who can reach it can decrypt payloads,
 * so it listens on loopback by default (GLUELINE_CODEC_BIND) and answers CORS only for the Temporal UI
 * (GLUELINE_TEMPORAL_UI_URL).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { codecFromEnv } from './codec';
import { DEFAULT_TEMPORAL_UI_URL } from './run-links';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/** An HTTP server for `codec`, answering CORS requests from `allowOrigin` (the Temporal UI). */
export function createCodecServer(codec: PayloadCodec, allowOrigin: string): http.Server {
  return http.createServer((req, res) => {
    res.setHeader('access-control-allow-origin', allowOrigin);
    res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
    res.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
    res.setHeader('access-control-allow-credentials', 'true');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const op = req.url?.replace(/\/+$/, '').split('/').pop();
    if (req.method !== 'POST' || (op !== 'decode' && op !== 'encode')) {
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end('POST /encode or /decode\n');
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        try {
          const payloads = ((JSON.parse(body) as { payloads?: JsonPayload[] }).payloads ?? []).map(fromJson);
          const out = op === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
        } catch (err) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
        }
      })();
    });
  });
}

if (require.main === module) {
  const codec = codecFromEnv();
  if (!codec) {
    console.error('codec-server: GLUELINE_CODEC_KEY is not set: set the key the worker uses');
    process.exit(2);
  }
  const [host = '127.0.0.1', port = '8888'] = (process.env.GLUELINE_CODEC_BIND ?? '127.0.0.1:8888').split(':');
  const ui = new URL(process.env.GLUELINE_TEMPORAL_UI_URL || DEFAULT_TEMPORAL_UI_URL).origin;
  const server = createCodecServer(codec, ui);
  server.listen(Number(port), host, () => {
    const { address, port: bound } = server.address() as AddressInfo;
    console.log(`codec server on http://${address}:${bound} (key ${codec.keyId}; CORS for ${ui})`);
  });
}
