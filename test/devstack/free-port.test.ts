import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { freePort } from '../../devstack/stack';

test('freePort hands out distinct ports below the kernel’s ephemeral range, each free to listen on', async () => {
  const ephemeralLow = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
  const ports: number[] = [];
  for (let i = 0; i < 50; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length, `a port was handed out twice: ${ports.join(' ')}`);
  assert.ok(
    ports.every((p) => p >= 1024 && p < ephemeralLow),
    `ports outside 1024-${ephemeralLow - 1}: ${ports.join(' ')}`,
  );
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
