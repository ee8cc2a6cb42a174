/**
 * The endpoints file a local stack writes (`<dir>/endpoints.json`): the one place where commands, tests
 * and benchmarks find a running stack. The local stack (devstack/) writes it; commands only read it.
 */
import fs from 'node:fs';
import path from 'node:path';

/** What `.devstack/endpoints.json` holds. */
export interface StackEndpoints {
  temporal: { address: string; namespace: string; uiUrl: string };
  aws: {
    /** Where every AWS SDK client points (the project's gateway in front of moto). */
    endpoint: string;
    /** moto itself, for what the gateway does not need to see. */
    motoEndpoint: string;
    /** The gateway's control API (scripted outcomes, fault rules, request counts). */
    controlUrl: string;
    regions: string[];
  };
  smtp: { host: string; port: number; inboxUrl: string; uiUrl: string };
}

/** The checkout's own stack folder. */
export const DEFAULT_STACK_DIR = path.resolve(__dirname, '..', '..', '.devstack');

/** Where a stack in `dir` keeps its endpoints. */
export const endpointsFile = (dir: string): string => path.join(dir, 'endpoints.json');

/** Reads the endpoints of a running stack. */
export function readEndpoints(dir = DEFAULT_STACK_DIR): StackEndpoints {
  const file = endpointsFile(dir);
  if (!fs.existsSync(file)) {
    throw new Error(`no local stack at ${dir}: ${file} does not exist. Start one with \`npm run devstack -- up\`.`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as StackEndpoints;
}

/**
 * The settings that point the worker and every command at a local stack, as the environment holds them: Temporal,
 * the UI links, the AWS gateway (with the dummy credentials it accepts and its first region) and the SMTP sink.
 */
export function stackEnv(endpoints: StackEndpoints): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: endpoints.temporal.address,
    TEMPORAL_NAMESPACE: endpoints.temporal.namespace,
    GLUELINE_TEMPORAL_UI_URL: endpoints.temporal.uiUrl,
    GLUELINE_AWS_ENDPOINT: endpoints.aws.endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: endpoints.aws.regions[0] ?? 'us-east-1',
    SMTP_URL: `smtp://${endpoints.smtp.host}:${endpoints.smtp.port}`,
  };
}
