/**
 * A gateway process of a test's own, in front of the stack's moto: for what the shared gateway
 * cannot show without disturbing other tests (a restart, another JobRunner).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { freePort } from '../stack';
import { pollUntil } from './poll';
import { stack } from './stack';

export interface PrivateGateway {
  /** Where SDK clients point: `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** Stops the process (SIGTERM: it closes its databases first). */
  stop(): Promise<void>;
}

/** Starts a gateway; `env` sets GATEWAY_DATA_DIR, GATEWAY_JOB_RUNNER and the like. */
export async function startPrivateGateway(env: NodeJS.ProcessEnv, port?: number): Promise<PrivateGateway> {
  const listenPort = port ?? (await freePort());
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../gateway/main.ts')], {
    env: { ...process.env, GATEWAY_PORT: String(listenPort), GATEWAY_UPSTREAM: stack().aws.motoEndpoint, ...env },
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${listenPort}`;
  await pollUntil(
    () =>
      fetch(`${endpoint}/_gateway/health`).then(
        (r) => r.ok,
        () => false,
      ),
    (ok) => ok,
  );
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
