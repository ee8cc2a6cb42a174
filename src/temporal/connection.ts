/**
 * The Temporal connection of every glueline process (the worker, the CLI, the S3 events Lambda): settings
 * from @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
 * TEMPORAL_PROFILE and its config file), so one set of variables reaches a dev server, a self-hosted
 * cluster or Temporal Cloud; the local dev server when none is set.
 */
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { codecFromEnv } from './codec';

/** The dev server's address (`temporal server start-dev`, the local stack). */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
/** The namespace when neither TEMPORAL_NAMESPACE nor the profile names one. */
export const DEFAULT_NAMESPACE = 'default';

/** Connection settings with the defaults filled in: an address and a namespace always. */
export type TemporalSettings = ClientConnectConfig & {
  namespace: string;
  connectionOptions: ClientConnectConfig['connectionOptions'] & { address: string };
};

/**
 * The set variables of `env`: an empty one counts as unset, as .env files often leave them.
 */
export const presentVariables = (env: NodeJS.ProcessEnv): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));

/** Temporal's connection settings from `env`. Throws envconfig's error for a bad profile or config file. */
export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const config = loadClientConnectConfig({ overrideEnvVars: presentVariables(env) });
  return {
    ...config,
    namespace: config.namespace ?? DEFAULT_NAMESPACE,
    connectionOptions: {
      ...config.connectionOptions,
      address: config.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS,
    },
  };
}

/** The payload codec the worker uses (GLUELINE_CODEC_KEY), as Client options; none when no key is set. */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): {
  dataConverter?: { payloadCodecs: PayloadCodec[] };
} {
  const codec = codecFromEnv(env);
  return codec ? { dataConverter: { payloadCodecs: [codec] } } : {};
}

/** A client connection and the namespace it works in; close the connection when done. */
export interface ConnectedClient {
  client: Client;
  connection: Connection;
  namespace: string;
}

/** A failed connection as an operator can act on it: the address, the namespace and what to check. */
export class TemporalConnectError extends Error {
  constructor(settings: Pick<TemporalSettings, 'namespace' | 'connectionOptions'>, cause: unknown) {
    super(
      `cannot connect to Temporal at ${settings.connectionOptions.address} (namespace ${settings.namespace}): ` +
        `${(cause as Error).message}. Start a server there (the local stack: npm run devstack -- up; or ` +
        `temporal server start-dev), or point TEMPORAL_ADDRESS (or TEMPORAL_PROFILE) at yours, in the ` +
        `environment or in .env; Temporal Cloud also needs TEMPORAL_API_KEY or TEMPORAL_TLS_*`,
      { cause },
    );
    this.name = 'TemporalConnectError';
  }
}

/** Connects a Temporal client as `env` says, with the worker's payload codec. */
export async function connectClient(env: NodeJS.ProcessEnv = process.env): Promise<ConnectedClient> {
  const settings = temporalSettings(env);
  const { namespace, connectionOptions } = settings;
  let connection: Connection;
  try {
    connection = await Connection.connect(connectionOptions);
  } catch (err) {
    throw new TemporalConnectError(settings, err);
  }
  return { client: new Client({ connection, namespace, ...dataConverterFromEnv(env) }), connection, namespace };
}
