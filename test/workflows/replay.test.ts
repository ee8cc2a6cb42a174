/**
 * Replays every recorded history in test/histories/ (real runs of the worker on the local stack, recorded by
 * `npm run record-histories`) on today's workflow code. A change to the workflows that would break runs already
 * in flight (another order of commands, a step added or removed without `patched()`) fails here. The replay runs
 * in this process: no stack, no server. See test/histories/README.md before touching a history.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import { DeterminismViolationError } from '@temporalio/workflow';
import { WORKFLOW_PRELOAD_MODULES } from '../../src/worker/workflow-bundle';

// Each replay starts and stops a worker: its state lines would bury the test output.
Runtime.install({ logger: new DefaultLogger('WARN') });

const historiesDir = path.join(__dirname, '..', 'histories');

/** What each recorded run was; a history not listed here still replays, under its file name. */
const RECORDED: Record<string, string> = {
  'success.json': 'a csvPipeline run that succeeded end to end in both regions',
  'success-before-transform-manifest-summary.json':
    'a csvPipeline run that succeeded end to end, recorded before the transform-manifest-summary patch',
  'failure-notified.json': 'a csvPipeline run whose Glue job run failed, and that sent the failure email and webhook',
  'cancel-during-transform.json': 'a csvPipeline run cancelled while its Glue job run was running',
  'redrive-start-at.json': 'a csvPipeline run redriven with options.startAt = replicate-curated',
  'redrive-start-at-before-transform-manifest-summary.json':
    'a csvPipeline run redriven from replicate-curated, recorded before the transform-manifest-summary patch',
  'pipeline-step.json': 'a pipelineStep run of redshift-refresh in one region',
  'refused-notified.json': 'a csvPipeline run a schedule started that its input refused, with the refusal notice sent',
  'freshness-missed.json':
    'a freshnessWatch run that judged a window missed, sent the no-data notice and continued as new',
  'freshness-back.json': 'a freshnessWatch run that found a late batch completed and sent the data-back notice',
  'freshness-stopped.json': 'a freshnessWatch run stopped by the configure signal with null',
};

const files = fs
  .readdirSync(historiesDir)
  .filter((name) => name.endsWith('.json'))
  .sort();

/** A history file as the SDK's History (what Worker.runReplayHistory would make of the JSON itself). */
function readHistory(file: string): History {
  const json: unknown = JSON.parse(fs.readFileSync(path.join(historiesDir, file), 'utf8'));
  try {
    return historyFromJSON(json);
  } catch (err) {
    // protobufjs checks types with instanceof: two copies of it cannot read each other's types.
    if (err instanceof TypeError && err.message === 'type must be a Type')
      throw new Error(
        `${file}: @temporalio/common and @temporalio/proto load different copies of protobufjs, so no history ` +
          'JSON can be read: keep protobufjs in package.json at the version they depend on (npm ls protobufjs).',
        { cause: err },
      );
    throw err;
  }
}

/** Bundles for replay print nothing: a bundle's progress lines would bury the test output. */
const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

function bundle(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, preloadModules: WORKFLOW_PRELOAD_MODULES, logger: quietLogger });
}

describe("recorded histories replay on today's workflow code", () => {
  let workflows: WorkflowBundleWithSourceMap;
  before(async () => {
    workflows = await bundle(require.resolve('../../src/workflows'));
  });

  test('every recorded scenario has its history in test/histories', () => {
    assert.deepEqual(
      Object.keys(RECORDED).filter((file) => !files.includes(file)),
      [],
      'a history is missing: record it with `npm run record-histories` (see test/histories/README.md)',
    );
  });

  for (const file of files) {
    const what = RECORDED[file] ?? `the run recorded in ${file}`;
    test(`${what} replays without a determinism error (${file})`, async () => {
      await Worker.runReplayHistory({ workflowBundle: workflows, replayName: file }, readHistory(file), file);
    });
  }
});

describe('the replay catches a workflow whose commands changed (positive control)', () => {
  test('the successful csvPipeline history does not replay on a csvPipeline that crawls before staging', async () => {
    const reordered = await bundle(require.resolve('../fixtures/reordered-workflows'));
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: reordered }, readHistory('success.json'), 'success.json'),
      (err: unknown) => {
        assert.ok(err instanceof DeterminismViolationError, `expected a DeterminismViolationError, got ${String(err)}`);
        // The replay names what differs: the history's copyObjects where the code now schedules startCrawler.
        assert.match(err.message, /copyObjects|startCrawler/);
        return true;
      },
    );
  });
});
