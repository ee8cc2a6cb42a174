/**
 * The freshness watch's notices as email (src/workflows/freshness-watch.ts): a window passed with no batch completed
 * (`freshness-missed`), or data arrived again (`freshness-back`). They go through the same activities as failure
 * notices (./notify.ts), with a subject, body and Message-ID of their own and no re-run commands.
 */
import type { FailureNotice } from '../workflow-safe/activity-types';

/** HTML-escapes `s`. */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A notice's HTML body: the headline, the facts as a table, the run's link, then `tail` (HTML lines). */
export function emailHtml(headline: string, facts: [string, string][], url: string, linkText: string, tail: string[]) {
  const h = escapeHtml;
  return [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2>${h(headline)}</h2>`,
    '<table cellpadding="4" style="border-collapse:collapse">',
    ...facts.map(
      ([k, v]) =>
        `<tr><th align="left" valign="top">${h(k)}</th><td style="white-space:pre-wrap;font-family:monospace">${h(v)}</td></tr>`,
    ),
    '</table>',
    `<p><a href="${h(url)}">${h(linkText)}</a><br><code>${h(url)}</code></p>`,
    ...tail,
    '</body></html>',
  ].join('\n');
}

/** Whether the notice is the freshness watch's. */
export const isFreshnessNotice = (notice: Pick<FailureNotice, 'kind'>): boolean =>
  notice.kind === 'freshness-missed' || notice.kind === 'freshness-back';

/** `[glueline] no data: sales had no batch completed by 2026-11-30T12:00:00.000Z (last good batch b-41)`. */
export function freshnessSubject(notice: FailureNotice): string {
  if (notice.kind === 'freshness-back')
    return `[glueline] data is back: ${notice.pipeline} batch ${notice.batchId} completed`;
  return `[glueline] no data: ${notice.pipeline} had no batch completed by ${notice.failedAt} (last good batch ${notice.batchId})`;
}

/** The email's text and HTML bodies: what was found, the window, the watch's run link. */
export function freshnessEmail(notice: FailureNotice, url: string): { subject: string; text: string; html: string } {
  const back = notice.kind === 'freshness-back';
  const facts: [string, string][] = [
    ['Pipeline', notice.pipeline],
    [back ? 'Batch' : 'Last good batch', notice.batchId],
    [back ? 'Missed since' : 'Window', back ? notice.startedAt : `${notice.startedAt} to ${notice.failedAt}`],
    [back ? 'Completed' : 'Found', back ? notice.failedAt : notice.error.type],
    ['Details', notice.error.message],
    ['Watch workflow id', notice.workflowId],
  ];
  const headline = back
    ? `glueline pipeline ${notice.pipeline}: data is back (batch ${notice.batchId})`
    : `glueline pipeline ${notice.pipeline}: no batch completed by ${notice.failedAt}`;
  const text = [
    `${headline}.`,
    '',
    ...facts.map(([k, v]) => `${k}: ${v}`),
    '',
    `The freshness watch in the Temporal UI: ${url}`,
    '',
  ].join('\n');
  const html = emailHtml(headline, facts, url, 'Open the freshness watch in the Temporal UI', []);
  return { subject: freshnessSubject(notice), text, html };
}
