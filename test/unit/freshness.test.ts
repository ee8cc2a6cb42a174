/**
 * Freshness deadlines (issue 18), the pure parts: the spec section as the schema takes it, the deadlines and
 * windows (UTC-aligned `every`, `by` a time of day in a time zone across daylight saving changes), the notices'
 * Message-IDs and emails, and `health`'s text of the watch's state and of the batches.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { failureEmail } from '../../src/activities/notify';
import { notificationId } from '../../src/activities/notify-record';
import { formatFreshness, formatHealth, type BatchHealth } from '../../src/starters/health';
import type { FailureNotice } from '../../src/workflow-safe/activity-types';
import { nextDeadline, recheckMs, windowStart, type FreshnessState } from '../../src/workflow-safe/freshness';
import { Freshness } from '../../src/workflow-safe/spec-freshness';
import { validationProblems } from '../../devstack/testkit/spec-problems';

const at = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();

const problemsOf = (value: unknown) => validationProblems(value, Freshness, 'freshness');

describe('the freshness section', () => {
  test('takes every or by (with a time zone), and says what is wrong with anything else', () => {
    assert.deepEqual(Freshness.parse({ every: '6h' }), { every: '6h', timeZone: 'UTC' });
    assert.deepEqual(Freshness.parse({ by: '07:00', timeZone: 'Europe/Berlin' }), {
      by: '07:00',
      timeZone: 'Europe/Berlin',
    });
    assert.match(problemsOf({ every: '6h', by: '07:00' }).join('\n'), /needs exactly one of every .* and by/);
    assert.match(problemsOf({}).join('\n'), /needs exactly one of every/);
    assert.match(problemsOf({ every: '6 hours' }).join('\n'), /every.*is not a window length: .* e\.g\. 6h/);
    assert.match(problemsOf({ every: '1s' }).join('\n'), /every.*is not a window length/);
    assert.match(problemsOf({ by: '7am' }).join('\n'), /by.*is not a time of day: use HH:MM/);
    assert.match(problemsOf({ by: '24:00' }).join('\n'), /by.*is not a time of day/);
    assert.match(
      problemsOf({ by: '07:00', timeZone: 'Europe/Berlinn' }).join('\n'),
      /timeZone.*is not a time zone: use an IANA name/,
    );
  });
});

describe('deadlines', () => {
  test('every: windows aligned to midnight UTC', () => {
    const f = Freshness.parse({ every: '6h' });
    assert.equal(iso(nextDeadline(f, at('2026-11-30T13:05:00Z'))), '2026-11-30T18:00:00.000Z');
    // A deadline itself is judged once: the next one is the one after it.
    assert.equal(iso(nextDeadline(f, at('2026-11-30T18:00:00Z'))), '2026-12-01T00:00:00.000Z');
    assert.equal(iso(windowStart(f, at('2026-12-01T00:00:00Z'))), '2026-11-30T18:00:00.000Z');
    assert.equal(recheckMs(f), 15 * 60_000);
    assert.equal(recheckMs(Freshness.parse({ every: '20s' })), 5000);
  });

  test('by: a time of day in the zone, daylight saving time included (a 23-hour window on the change)', () => {
    const f = Freshness.parse({ by: '07:00', timeZone: 'Europe/Berlin' });
    // Winter: 07:00 CET is 06:00Z.
    assert.equal(iso(nextDeadline(f, at('2026-03-27T12:00:00Z'))), '2026-03-28T06:00:00.000Z');
    assert.equal(iso(nextDeadline(f, at('2026-03-28T05:59:00Z'))), '2026-03-28T06:00:00.000Z');
    // 29 March 2026 the clocks go forward: 07:00 CEST is 05:00Z, 23 hours after the day before's.
    const change = nextDeadline(f, at('2026-03-28T06:00:00Z'));
    assert.equal(iso(change), '2026-03-29T05:00:00.000Z');
    assert.equal(iso(windowStart(f, change)), '2026-03-28T06:00:00.000Z');
    const ny = Freshness.parse({ by: '23:30', timeZone: 'America/New_York' });
    assert.equal(iso(nextDeadline(ny, at('2026-11-30T12:00:00Z'))), '2026-12-01T04:30:00.000Z');
    assert.equal(iso(windowStart(ny, at('2026-12-01T04:30:00Z'))), '2026-11-30T04:30:00.000Z');
    const utc = Freshness.parse({ by: '00:00' });
    assert.equal(iso(nextDeadline(utc, at('2026-11-30T00:00:00Z'))), '2026-12-01T00:00:00.000Z');
  });
});

const missedNotice: FailureNotice = {
  kind: 'freshness-missed',
  pipeline: 'sales',
  batchId: 'b-41',
  step: 'freshness@2026-11-30T12:00:00.000Z',
  error: { type: 'NoBatchStarted', message: 'no batch of pipeline sales completed ...: no run started' },
  workflowId: 'freshness-watch-sales',
  runId: 'run-1',
  workflowType: 'freshnessWatch',
  startedAt: '2026-11-30T06:00:00.000Z',
  failedAt: '2026-11-30T12:00:00.000Z',
  email: { to: ['team@example.com'], from: 'glueline@example.com' },
};

describe('freshness notices', () => {
  test('a Message-ID fixed by the window, the same for every run of the watch; never a failure notice', () => {
    const id = notificationId(missedNotice);
    assert.equal(
      id,
      'notify.freshness-missed.freshness-watch-sales.freshness=402026-11-30T12=3A00=3A00=2E000Z@glueline',
    );
    assert.equal(notificationId({ ...missedNotice, runId: 'run-2' }), id);
    assert.notEqual(notificationId({ ...missedNotice, kind: 'freshness-back' }), id);
  });

  test('the email names the last good batch, the window and what was found, with no re-run commands', () => {
    const deps = { temporalUiUrl: 'http://ui', namespace: 'default', taskQueue: 'glueline' };
    const mail = failureEmail(deps, missedNotice);
    assert.equal(
      mail.subject,
      '[glueline] no data: sales had no batch completed by 2026-11-30T12:00:00.000Z (last good batch b-41)',
    );
    assert.match(mail.text, /Last good batch: b-41\nWindow: 2026-11-30T06:00:00.000Z to 2026-11-30T12:00:00.000Z/);
    assert.match(mail.text, /Found: NoBatchStarted/);
    assert.doesNotMatch(mail.text, /redrive|Re-run/);
    const back = failureEmail(deps, { ...missedNotice, kind: 'freshness-back', batchId: 'b-42' });
    assert.equal(back.subject, '[glueline] data is back: sales batch b-42 completed');
  });
});

describe('health text', () => {
  const state: FreshnessState = {
    pipeline: 'sales',
    rule: 'every 6h',
    status: 'missed',
    nextDeadline: '2026-11-30T18:00:00.000Z',
    lastGood: { batchId: 'b-41', workflowId: 'csv-pipeline-sales-b-41', completedAt: '2026-11-30T05:10:00.000Z' },
    missed: [
      {
        start: '2026-11-30T06:00:00.000Z',
        end: '2026-11-30T12:00:00.000Z',
        found: 'failed',
        detail: 'a run failed, batch b-42 at transform',
      },
    ],
    lastDeadline: '2026-11-30T12:00:00.000Z',
  };

  test('the watch: rule, state, last good batch, next deadline, then each missed window', () => {
    assert.deepEqual(formatFreshness(state), [
      'freshness: a batch every 6h: MISSED 1 window(s); last good batch b-41 (completed 2026-11-30T05:10:00.000Z); next deadline 2026-11-30T18:00:00.000Z',
      '  missed 2026-11-30T06:00:00.000Z to 2026-11-30T12:00:00.000Z: failed: a run failed, batch b-42 at transform',
    ]);
    assert.deepEqual(formatFreshness({ ...state, status: 'fresh', missed: [] }), [
      'freshness: a batch every 6h: fresh; last good batch b-41 (completed 2026-11-30T05:10:00.000Z); next deadline 2026-11-30T18:00:00.000Z',
    ]);
    assert.match(formatFreshness(undefined)[0]!, /^freshness: no watch/);
    assert.deepEqual(formatFreshness({ ...state, status: 'fresh', missed: [], fromMemo: true }).slice(1), [
      "  (from the watch's memo: no worker answered its query, so a deadline may have passed since; start a worker)",
    ]);
  });

  test('the batches: one line each, with rows, reconciliation, warnings and the failed step', () => {
    const batches: BatchHealth[] = [
      {
        batchId: 'b-42',
        workflowId: 'w2',
        runId: 'r2',
        status: 'failed',
        startedAt: '2026-11-30T06:00:00.000Z',
        durationMs: 65_000,
        reconciliation: [],
        warnings: [],
        failedStep: { step: 'transform', type: 'ThresholdExceeded', message: 'too many rejected' },
      },
      {
        batchId: 'b-41',
        workflowId: 'w1',
        runId: 'r1',
        status: 'succeeded',
        startedAt: '2026-11-30T05:00:00.000Z',
        durationMs: 600_000,
        rowsIn: 100,
        rowsOut: 97,
        rowsRejected: 3,
        rejectedRatio: 0.03,
        reconciliation: [
          { region: 'us-east-1', actualRows: 97, expectedRows: 97, matched: true },
          { region: 'eu-west-1', actualRows: 96, expectedRows: 97, matched: false },
        ],
        warnings: [{ step: 'transform', limit: 'maxRejectedRows', value: 3, threshold: 2 }],
      },
    ];
    const lines = formatHealth('sales', batches);
    assert.equal(lines[0], 'pipeline sales: the 2 most recent batch run(s), newest first');
    assert.match(lines[1]!, /^b-42 {2}failed {2}\S.* {2}rows - {2}failed at transform \(ThresholdExceeded\)$/);
    assert.match(
      lines[2]!,
      /^b-41 {2}succeeded {2}\S.* {2}rows 100 in, 97 out, 3 rejected \(3\.0%\) {2}reconciled us-east-1 ok, eu-west-1 MISMATCH 96\/97 {2}warnings maxRejectedRows$/,
    );
    assert.deepEqual(formatHealth('sales', []), ['no csvPipeline runs of pipeline sales in this namespace']);
  });
});
