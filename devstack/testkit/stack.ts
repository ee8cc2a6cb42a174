/**
 * What tests need of the local stack. `npm test` starts a stack of its own on free ports and
 * names its folder in GLUELINE_STACK_DIR; a single test file run by hand uses the stack that
 * `npm run devstack -- up` started.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { DEFAULT_DIR, readEndpoints, type StackEndpoints } from '../stack';
import { devtool } from '../paths';
import { connectClient, type ConnectedClient } from '../../src/temporal/connection';

// Keep worker logs to warnings so test output stays readable (GLUELINE_TEST_LOG_LEVEL=DEBUG for more).
Runtime.install({ logger: new DefaultLogger(process.env.GLUELINE_TEST_LOG_LEVEL === 'DEBUG' ? 'DEBUG' : 'WARN') });

export const stackDir = process.env.GLUELINE_STACK_DIR ?? DEFAULT_DIR;

let cached: StackEndpoints | undefined;
/** The running stack's endpoints. */
export function stack(): StackEndpoints {
  return (cached ??= readEndpoints(stackDir));
}

/** A Temporal client of the stack `s` (the test stack by default), connected as glueline's processes connect. */
export function stackClient(s: StackEndpoints = stack()): Promise<ConnectedClient> {
  return connectClient({ TEMPORAL_ADDRESS: s.temporal.address, TEMPORAL_NAMESPACE: s.temporal.namespace });
}

/** Options for any AWS SDK v3 client, pointed at the local stack (the test stack by default). Credentials are dummies. */
export function awsClientConfig(region?: string, s: StackEndpoints = stack()) {
  return {
    region: region ?? s.aws.regions[0]!,
    endpoint: s.aws.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}

/** `TestWorkflowEnvironment` server options that use the binaries the bootstrap installed. */
export const timeSkippingServer = {
  executable: { type: 'existing-path' as const, path: devtool('temporal-test-server') },
};
export const localDevServer = { executable: { type: 'existing-path' as const, path: devtool('temporal') } };

/** A name no other test run uses, for buckets, task queues and workflow ids. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
