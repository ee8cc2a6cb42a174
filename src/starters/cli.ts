#!/usr/bin/env node
/**
 * `glueline <command>` (the package's bin; `npm run glueline -- <command>` in a checkout): the operator's
 * starters and the worker. Each command lives in its own file; this only dispatches, and maps errors to exit
 * codes: 2 for bad input (nothing was started), 1 for a run that failed or an error on the way. Paths on the
 * command line are relative to the current directory, and `.env` there is loaded first (src/env-file.ts).
 */
import { loadDotEnv } from '../env-file';
import { didYouMean } from '../workflow-safe/suggest';
import { packageVersion } from '../package-root';
import type { CommandIo } from './common';
import { parseCommandArgs, processIo, UsageError } from './common';
import { completionCommand } from './completion';
import { devstackCommand } from './devstack';
import { freshnessCommand } from './freshness';
import { listCommand } from './list';
import { provisionCommand } from './provision';
import { queryCommand } from './query';
import { redriveCommand } from './redrive';
import { rejectsCommand } from './rejects';
import { runCommand } from './run';
import { s3EventsCommand } from './s3-events-command';
import { scheduleCommand } from './schedule';
import { followCommand, statusCommand } from './status';
import { healthCommand } from './health';
import { initCommand } from './init';
import { stepCommand } from './step';

const COMMANDS: Record<string, (args: string[], io: CommandIo) => Promise<number>> = {
  init: initCommand,
  run: runCommand,
  step: stepCommand,
  status: statusCommand,
  follow: followCommand,
  health: healthCommand,
  list: listCommand,
  redrive: redriveCommand,
  query: queryCommand,
  rejects: rejectsCommand,
  schedule: scheduleCommand,
  's3-events': s3EventsCommand,
  provision: provisionCommand,
  freshness: freshnessCommand,
  worker: workerCommand,
  devstack: devstackCommand,
};
// Completion reads the table it completes: every command above, and itself.
COMMANDS.completion = completionCommand(COMMANDS);

const workerUsage = `usage: glueline worker     (npm run worker in a checkout)

Runs the glueline worker: polls GLUELINE_TASK_QUEUE (default glueline) for csvPipeline and pipelineStep runs
until SIGINT or SIGTERM, then shuts down gracefully. Settings from the environment and .env (see .env.example);
a bad setting exits 2 naming the variable, a failed start exits 1 with one line that says what to fix.
`;

/** The `worker` command: loads the worker (and its AWS SDK, activities and bundler) only when asked for. */
async function workerCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs('worker', args, {});
  if (values.help) {
    io.out(workerUsage);
    return 0;
  }
  const { workerMain } = await import('../worker.js');
  return workerMain();
}

export const usage = `usage: glueline <command> [options]     (glueline <command> --help for each; glueline --version)
       in a checkout: npm run glueline -- <command> [options]

  init      write a spec and a transform stub from a CSV (types from its header and a sample of rows)
  run       start csvPipeline for a batch (S3 keys, a prefix, or local files); --wait follows it live
  step      run one step of a batch alone (pipelineStep)
  status    one look at a run's progress: glueline status <workflowId>
  follow    follow a run live until it closes: glueline follow <workflowId>
  list      a pipeline's recent runs, newest first: glueline list --spec <file>
  health    a pipeline's recent batches: rows, rejects, reconciliation, warnings, status (--json)
  redrive   re-run a failed batch from a step: glueline redrive <workflowId> --from <step>
  query     run SQL on a region's Redshift and print a table
  rejects   print a batch's rejected rows with their reasons (--json for a document)
  schedule  create, update, pause, unpause, trigger, delete or describe a schedule for a prefix
  s3-events start a batch's run when its files land: consume S3 ObjectCreated events from SQS
  provision create or update what a spec needs in AWS (buckets, Glue databases, crawlers, the job); also npm run provision
  freshness start, update or stop the pipeline's freshness watch (spec freshness): glueline freshness --spec <file>
  worker    run the worker that executes the runs (npm run worker in a checkout)
  devstack  the local stack: up, down, status (in a checkout), env (its settings as export lines)
  completion  a shell completion script for commands and flags: source <(glueline completion bash)   (or zsh)

Temporal from the environment, as the worker: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE; GLUELINE_TASK_QUEUE (default glueline);
GLUELINE_TEMPORAL_UI_URL for links. AWS (run --files, query): the SDK's credential chain, GLUELINE_AWS_ENDPOINT.
Each is also read from .env in the current directory; a variable already set wins. File paths are relative to
the current directory.
Exit codes: 0 done (or the run succeeded), 1 the run failed or an error, 2 bad input (nothing started).
`;

/** Runs one command line. @returns the exit code. */
export async function main(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(packageVersion());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(
      `glueline: unknown command ${name}: use one of ${Object.keys(COMMANDS).join(', ')}${didYouMean(name, Object.keys(COMMANDS))}`,
    );
    return 2;
  }
  try {
    return await command(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`glueline ${name}: ${err.message}`);
      return 2;
    }
    // The messages say what to fix; the stack only helps when debugging glueline itself.
    io.err(
      `glueline ${name}: ${process.env.GLUELINE_DEBUG ? ((err as Error).stack ?? String(err)) : (err as Error).message}`,
    );
    return 1;
  }
}

if (require.main === module) {
  // The pinned AWS SDK runs on Node.js 20, but warns at every command that later SDK releases need 22 (README,
  // Quickstart). The worker still logs it once at start; a terminal command does not repeat it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const io = processIo();
  try {
    loadDotEnv();
  } catch (err) {
    io.err(`glueline: ${(err as Error).message}`);
    process.exit(2);
  }
  main(process.argv.slice(2), io).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
