/**
 * `npm run devstack -- up | down | status | env | redshift --spec FILE [--dir DIR] [--<part>-port N] [--free-ports]`
 * (also `glueline devstack ...`, src/starters/devstack.ts)
 */
import { parseArgs } from 'node:util';
import { loadSpecFile } from '../src/starters/spec-file';
import { stackEnv } from '../src/starters/stack-endpoints';
import { shellWord } from '../src/temporal/run-links';
import { createSpecRedshiftTargets } from './redshift-targets';
import { DEFAULT_DIR, down, readEndpoints, status, up, type StackPorts } from './stack';

const usage = `usage: npm run devstack -- <up|down|status> [options]

  up       start Temporal (dev server + UI), moto behind the AWS gateway, and the SMTP sink
  down     stop exactly the processes 'up' started
  status   show each part and the endpoints
  env      print the export lines that point the worker and the commands at the stack:
           eval "$(npm run --silent devstack -- env)"
  redshift create the Redshift workgroups and clusters that --spec FILE names (up creates
           those of specs/local-sales.yaml); the local Data API runs SQL only on targets that exist

options:
  --dir DIR              state, logs and endpoints.json (default .devstack)
  --temporal-port N      Temporal gRPC (default 7233)
  --ui-port N            Temporal Web UI (default temporal port + 1000)
  --gateway-port N       AWS endpoint (default 4566)
  --moto-port N          moto behind the gateway (default 5000)
  --smtp-port N          SMTP sink (default 1025)
  --mail-http-port N     sent-mail inbox (default 1080)
  --free-ports           pick a free port for every port not given (0 does so for one)
  --spec FILE            the pipeline spec whose Redshift targets 'redshift' creates
`;

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      dir: { type: 'string', default: DEFAULT_DIR },
      'temporal-port': { type: 'string' },
      'ui-port': { type: 'string' },
      'gateway-port': { type: 'string' },
      'moto-port': { type: 'string' },
      'smtp-port': { type: 'string' },
      'mail-http-port': { type: 'string' },
      'free-ports': { type: 'boolean', default: false },
      spec: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(usage);
    return;
  }
  const port = (flag: keyof typeof values): number | undefined => {
    const raw = values[flag];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new Error(`--${flag} must be a port number 0-65535, got '${raw}'.`);
    return n;
  };
  const ports: Partial<StackPorts> = {
    temporal: port('temporal-port'),
    temporalUi: port('ui-port'),
    gateway: port('gateway-port'),
    moto: port('moto-port'),
    smtp: port('smtp-port'),
    mailHttp: port('mail-http-port'),
  };
  switch (command) {
    case 'up':
      await up({ dir: values.dir, ports, freePorts: values['free-ports'] });
      break;
    case 'down':
      await down({ dir: values.dir });
      break;
    case 'env':
      for (const [name, value] of Object.entries(stackEnv(readEndpoints(values.dir))))
        console.log(`export ${name}=${shellWord(value)}`);
      break;
    case 'redshift': {
      if (!values.spec) throw new Error(`redshift needs --spec FILE: the spec whose targets to create.\n\n${usage}`);
      const spec = loadSpecFile(values.spec);
      await createSpecRedshiftTargets(readEndpoints(values.dir).aws.endpoint, spec);
      for (const r of spec.regions.filter((region) => region.redshift)) {
        const t = r.redshift!;
        console.log(
          `${r.region}: ${t.workgroupName ? `workgroup ${t.workgroupName}` : `cluster ${t.clusterIdentifier}`}`,
        );
      }
      break;
    }
    case 'status': {
      const parts = status(values.dir);
      if (parts.length === 0) console.log(`no local stack recorded in ${values.dir}`);
      for (const p of parts)
        console.log(`${p.name.padEnd(10)} pid ${String(p.pid).padEnd(8)} ${p.running ? 'running' : 'NOT RUNNING'}`);
      if (parts.some((p) => p.running)) console.log(JSON.stringify(readEndpoints(values.dir), null, 2));
      if (parts.some((p) => !p.running)) process.exitCode = 1;
      break;
    }
    default:
      throw new Error(`unknown command '${command}'.\n\n${usage}`);
  }
}

main().catch((err: Error) => {
  console.error(`devstack: ${err.message}`);
  process.exit(1);
});
