/**
 * How a person reaches a run: its page in the Temporal UI, and words safe to paste into a `temporal` (or
 * any POSIX shell) command line. Shared by the CLI, the failure notice and the demo.
 */

/** The dev server's UI (`temporal server start-dev`, the local stack). */
export const DEFAULT_TEMPORAL_UI_URL = 'http://127.0.0.1:8233';

/** A run's history page in the Temporal UI at `uiUrl` (with or without a trailing slash). */
export function runUrl(uiUrl: string, namespace: string, workflowId: string, runId: string): string {
  const e = encodeURIComponent;
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${e(namespace)}/workflows/${e(workflowId)}/${e(runId)}/history`;
}

/** Quotes a word for a POSIX shell when it needs it. */
export const shellWord = (word: string): string =>
  /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;

/** What names a step run's `glueline step` command: {@link stepCommandLine}'s argument. */
export interface StepCommandParts {
  batchId: string;
  /** The step, without its region. */
  step: string;
  region?: string;
  /** The spec file and the directory it is relative to; undefined when unknown: a placeholder then. */
  startedWith?: { specFile: string; directory?: string };
  /** The batch's flags, unquoted; undefined when unknown: a placeholder then. */
  batchFlags?: string[];
  /** The batch names this many keys, too many to list (--key flags left out). */
  keyCount?: number;
}

/**
 * The `glueline step` command line that runs a step again, quoted for a POSIX shell: `cd <dir> && ` first when the
 * spec file was given relative to a directory. `exact` is false when a part is a placeholder (`<spec file>`, the
 * batch's keys) that the reader fills in.
 */
export function stepCommandLine(parts: StepCommandParts): { line: string; exact: boolean } {
  const { startedWith, batchFlags, keyCount } = parts;
  const spec = startedWith ? shellWord(startedWith.specFile) : '<spec file>';
  const batch =
    batchFlags === undefined
      ? ['(--prefix <prefix> | --key <key>...)']
      : [...batchFlags.map(shellWord), ...(keyCount ? [`--key <each of the batch's ${keyCount} keys>`] : [])];
  const words = [
    'glueline step --spec',
    spec,
    '--batch-id',
    shellWord(parts.batchId),
    '--step',
    shellWord(parts.step),
    ...(parts.region ? ['--region', shellWord(parts.region)] : []),
    ...batch,
  ];
  const cd = startedWith?.directory ? `cd ${shellWord(startedWith.directory)} && ` : '';
  return { line: cd + words.join(' '), exact: !!startedWith && batchFlags !== undefined && !keyCount };
}
