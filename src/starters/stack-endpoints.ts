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
