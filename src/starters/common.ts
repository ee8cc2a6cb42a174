/**
 * What every `glueline <command>` shares: argument parsing with usage errors (exit 2), the
 * Temporal client (src/temporal/connection.ts, as the worker connects), AWS clients and the UI link.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Client } from '@temporalio/client';
import { createAwsClients, type AwsClients } from '../aws/clients';
import { connectClient } from '../temporal/connection';
import { DEFAULT_TEMPORAL_UI_URL, runUrl } from '../temporal/run-links';
import { DEFAULT_TASK_QUEUE } from '../workflow-safe/pipeline';
import { didYouMean } from '../workflow-safe/suggest';
import { SpecValidationError } from '../workflow-safe/validation';

/** Bad input on the command line or in a spec: the process exits 2, and nothing was started. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** What a command needs from its surroundings; tests and the CLI pass process's own. */
export interface CommandIo {
  out: (line: string) => void;
  /** Errors and refusals (stderr). */
  err: (line: string) => void;
  /** Whether stdout is a terminal (live redraws) or a log (one line per change). */
  isTTY: boolean;
  /** The terminal the live view redraws in place when {@link isTTY}. @default process.stdout */
  terminal?: Terminal;
}

/** What the live view needs of a terminal: a width, and raw writes (cursor moves). */
export interface Terminal {
  columns: number;
  /** The terminal's height, when known: a taller view is cut to fit. */
  rows?: number;
  write(chunk: string): void;
}

export const processIo = (): CommandIo => ({
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  isTTY: process.stdout.isTTY === true,
  terminal: process.stdout,
});

/** The `--json` flag of run, status, list and query. */
export const jsonOption = { json: { type: 'boolean', default: false } } as const;

/**
 * The io of a command's human lines: with --json they go to stderr, so stdout holds the one JSON document and
 * nothing else (and nothing is redrawn in place).
 */
export const humanIo = (io: CommandIo, json: boolean | undefined): CommandIo =>
  json ? { out: io.err, err: io.err, isTTY: false } : io;

/** Prints a command's `--json` document: one JSON document on stdout. */
export const printJson = (io: CommandIo, document: unknown): void => io.out(JSON.stringify(document, null, 2));

/** The one argument that asks a command for its flags instead of running it ({@link commandFlags}). */
const FLAGS_PROBE = '\u0000glueline-flags';

/** What a command probed with {@link FLAGS_PROBE} throws: its flags, as its parser takes them. */
class FlagTable {
  constructor(readonly flags: string[]) {}
}

/** A command's flags as typed (`--batch-id`), from the options its parser is given, `--help` included. */
const flagsOf = (options: NonNullable<ParseArgsConfig['options']>): string[] =>
  [...Object.keys(options), 'help'].map((name) => `--${name}`);

/**
 * The flags `command` parses: the same table its did-you-mean suggestions come from (shell completion uses it).
 * The command is called with a probe that its parser answers before the command does anything; a command without
 * a parser of its own at the front (devstack's sub-commands) gives just `--help`.
 */
export async function commandFlags(command: (args: string[], io: CommandIo) => Promise<number>): Promise<string[]> {
  const silent: CommandIo = { out: () => {}, err: () => {}, isTTY: false };
  try {
    await command([FLAGS_PROBE], silent);
  } catch (err) {
    if (err instanceof FlagTable) return err.flags;
  }
  return ['--help'];
}

/** node's parseArgs, with its errors turned into UsageErrors that name the command's help. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  args: string[],
  options: T,
) {
  if (args.length === 1 && args[0] === FLAGS_PROBE) throw new FlagTable(flagsOf(options));
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${unknownFlag(err, options) ?? (err as Error).message}; see glueline ${command} --help`);
  }
}

/** For an unknown flag, a message naming it and the command's flag it most likely meant; else undefined. */
function unknownFlag(err: unknown, options: NonNullable<ParseArgsConfig['options']>): string | undefined {
  if ((err as { code?: string }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return undefined;
  const flag = /Unknown option '(-{1,2}[^'=]+)/.exec((err as Error).message)?.[1];
  if (!flag) return undefined;
  return `unknown flag ${flag}${didYouMean(flag, flagsOf(options))}`;
}

/**
 * Turns a spec or input validation error into a usage error (exit 2), keeping its per-field lines. `flags` names
 * the flag each input field came from (`{'options.startAt': '--start-at'}`): the message names the flag the
 * person typed, not the field.
 */
export function asUsageError(err: unknown, flags: Record<string, string> = {}): never {
  if (!(err instanceof SpecValidationError)) throw err;
  let named = 0;
  const problems = err.problems.map((problem) => {
    const field = Object.keys(flags).find((f) => problem.startsWith(f) && /^[:.[]/.test(problem.slice(f.length)));
    if (field === undefined) return problem;
    named++;
    return `${flags[field]}${problem.slice(field.length)}`;
  });
  if (named === 0) throw new UsageError(err.message);
  throw new UsageError(
    problems.length === 1 ? problems[0]! : `the flags are not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  );
}

/** The task queue the worker polls: GLUELINE_TASK_QUEUE, as the worker reads it. */
export const taskQueue = (): string => process.env.GLUELINE_TASK_QUEUE || DEFAULT_TASK_QUEUE;

/** The Temporal UI's base URL: GLUELINE_TEMPORAL_UI_URL, as the worker reads it. */
export const temporalUiUrl = (): string =>
  (process.env.GLUELINE_TEMPORAL_UI_URL || DEFAULT_TEMPORAL_UI_URL).replace(/\/+$/, '');

/** A run's page in the Temporal UI at {@link temporalUiUrl}. */
export const runLink = (namespace: string, workflowId: string, runId: string): string =>
  runUrl(temporalUiUrl(), namespace, workflowId, runId);

/**
 * A Temporal client configured from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE), the same way as the worker.
 */
export async function withClient<T>(fn: (client: Client, namespace: string) => Promise<T>): Promise<T> {
  const { client, connection, namespace } = await connectClient();
  try {
    return await fn(client, namespace);
  } finally {
    await connection.close();
  }
}

/** AWS clients: the SDK's credential chain; GLUELINE_AWS_ENDPOINT points them at the local stack. */
export const awsClients = (): AwsClients =>
  createAwsClients(process.env.GLUELINE_AWS_ENDPOINT ? { endpoint: process.env.GLUELINE_AWS_ENDPOINT } : {});
