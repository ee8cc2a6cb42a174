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
