/**
 * `glueline devstack up|down|status|redshift|env`: the local stack. `env` prints the export lines that point the
 * worker and the commands at a stack (it only reads `<dir>/endpoints.json`, so it works from an installed package);
 * the others run the checkout's devstack/cli.ts, as `npm run devstack -- ...` does: the local stack (moto, the
 * gateway, local Redshift and Spark) is part of a checkout, not of the package.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../package-root';
import { shellWord } from '../temporal/run-links';
import { parseCommandArgs, UsageError, type CommandIo } from './common';
import { DEFAULT_STACK_DIR, readEndpoints, stackEnv } from './stack-endpoints';

export const devstackUsage = `usage: glueline devstack <up|down|status|redshift|env> [--dir DIR] [options]

  up        start a local stack: Temporal (dev server + UI), moto behind the AWS gateway, the SMTP sink
  down      stop exactly the processes 'up' started
  status    show each part and the endpoints
  redshift  create the Redshift targets that --spec FILE names
  env       print the export lines that point the worker and every command at the stack:
              eval "$(glueline devstack env --dir DIR)"   (or append them to .env, without 'export')

  --dir DIR   the stack's folder: state, logs and endpoints.json (default: the checkout's .devstack)
  up, down, status and redshift run in a checkout (npm run devstack -- <command> --help lists their options:
  ports, --free-ports); env works anywhere.
`;

const DELEGATED = ['up', 'down', 'status', 'redshift'];

/** The `devstack` command. @returns the exit code. */
export async function devstackCommand(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h') {
    io.out(devstackUsage);
    return sub ? 0 : 2;
  }
  if (sub === 'env') return printEnv(rest, io);
  if (!DELEGATED.includes(sub))
    throw new UsageError(`unknown devstack command ${shellWord(sub)}: use one of ${[...DELEGATED, 'env'].join(', ')}`);
  return delegate(sub, rest);
}

function printEnv(args: string[], io: CommandIo): number {
  const { values, positionals } = parseCommandArgs('devstack', args, { dir: { type: 'string' } });
  if (values.help) {
    io.out(devstackUsage);
    return 0;
  }
  if (positionals.length) throw new UsageError(`devstack env takes no ${shellWord(positionals[0]!)}: use --dir DIR`);
  const dir = values.dir === undefined ? DEFAULT_STACK_DIR : path.resolve(values.dir);
  let endpoints;
  try {
    endpoints = readEndpoints(dir);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  for (const [name, value] of Object.entries(stackEnv(endpoints))) io.out(`export ${name}=${shellWord(value)}`);
  return 0;
}

/** Runs devstack/cli.ts of the checkout with the same arguments (a relative --dir made absolute first). */
function delegate(sub: string, args: string[]): Promise<number> {
  const script = path.join(packageRoot, 'devstack', 'cli.ts');
  if (!fs.existsSync(script))
    throw new UsageError(
      `devstack ${sub} runs in a checkout of glueline's repository (the local stack is not part of the package): ` +
        `run npm run devstack -- ${sub} there; glueline devstack env --dir DIR works anywhere`,
    );
  const absolute = args.map((a, i) => {
    const [flag, value] = a.split(/=(.*)/s);
    if ((flag === '--dir' || flag === '--spec') && value !== undefined) return `${flag}=${path.resolve(value)}`;
    return args[i - 1] === '--dir' || args[i - 1] === '--spec' ? path.resolve(a) : a;
  });
  const child = spawn(process.execPath, ['--import', 'tsx', script, sub, ...absolute], {
    cwd: packageRoot,
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}
