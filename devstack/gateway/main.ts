/**
 * The local stack's AWS gateway: every AWS SDK client of glueline points here. It forwards each
 * request to moto unchanged; the control API lives under /_gateway.
 */
import http from 'node:http';

const host = '127.0.0.1';
const port = Number(process.env.GATEWAY_PORT ?? 4566);
const upstream = new URL(process.env.GATEWAY_UPSTREAM ?? 'http://127.0.0.1:5000');

function forward(req: http.IncomingMessage, res: http.ServerResponse) {
  const proxied = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    },
  );
  proxied.on('error', (err) => {
    res
      .writeHead(502, { 'content-type': 'text/plain' })
      .end(`gateway: upstream ${upstream.href} failed: ${err.message}\n`);
  });
  req.pipe(proxied);
}

const server = http.createServer((req, res) => {
  if (req.url === '/_gateway/health') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    return;
  }
  forward(req, res);
});

server.listen(port, host, () => console.log(`gateway: http://${host}:${port} -> ${upstream.href}`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
