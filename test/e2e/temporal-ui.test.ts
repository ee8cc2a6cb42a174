/**
 * What an operator sees in the Temporal UI (the dev server's, on the test stack), checked in headless
 * Chromium. A worker process runs two csvPipeline runs with the Glue job scripted at the gateway: one
 * completes, one fails at transform with Glue's error message. Each run's history page must name every
 * step with its activity type, and the failed run's page must show the failing step and Glue's error text.
 * Screenshots land in `<stack dir>/ui/` (`.devstack/test/ui/` under `npm test`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import { csvPipelineStartOptions } from '../../src/starters/start-options';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { Batch } from '../../src/workflow-safe/run-input';
import { landBatch, provisionQuietly, reliabilitySpec, withOwnJob } from '../reliability/support';
import { launchChromium, screenshotPath } from '../../devstack/testkit/browser';
import { GatewayControl } from '../../devstack/testkit/gateway';
import { stack, unique } from '../../devstack/testkit/stack';
import { startStackWorker, type StackWorker } from '../../devstack/testkit/worker-process';

/** The UI is a single-page app fed by the dev server; on a busy 2-core machine a page can take a while. */
const UI_TIMEOUT_MS = 60_000;
const GLUE_ERROR = `ui test: the Glue job failed on purpose (${unique('e')})`;

/** Every activity a completed run schedules, by its step: what the compact history must list. */
const COMPLETED_ACTIVITIES: [step: string, activityType: string][] = [
  ['stage-raw', 'copyObjects'],
  ['crawl-raw', 'startCrawler'],
  ['crawl-raw', 'waitForCrawler'],
  ['transform', 'startGlueJobRun'],
  ['transform', 'waitForGlueJobRun'],
  ['transform', 'readManifestSummary'],
  // The replica's old manifests go, the data is copied, earlier runs' files go, each region's COPY manifest is
  // written, and the Glue manifest is copied last.
  ['replicate-curated', 'deleteObjects'],
  ['replicate-curated', 'copyObjects'],
  ['replicate-curated', 'deleteObjects'],
  ['replicate-curated', 'writeCopyManifest'],
  ['replicate-curated', 'writeCopyManifest'],
  ['replicate-curated', 'copyObjects'],
  ...['us-east-1', 'eu-west-1'].flatMap((region): [string, string][] => [
    [`crawl-curated@${region}`, 'startCrawler'],
    [`crawl-curated@${region}`, 'waitForCrawler'],
    [`redshift-refresh@${region}`, 'executeStatements'],
    [`redshift-refresh@${region}`, 'waitForStatement'],
  ]),
];

/** Waits until `locator`'s first match is visible; fails naming what was looked for. */
async function seen(page: Page, what: string, locator = page.getByText(what)): Promise<void> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  } catch (err) {
    assert.fail(`the UI never showed ${what} at ${page.url()}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** A run's page in the UI: `history`, `timeline`, `user-metadata`, ... */
async function runUrl(handle: WorkflowHandle, tab: string): Promise<string> {
  const { uiUrl, namespace } = stack().temporal;
  const runId = (await handle.describe()).runId;
  return `${uiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(handle.workflowId)}/${runId}/${tab}`;
}

/** Opens a run's history page and switches it to the compact view (one row per activity). */
async function openHistory(page: Page, handle: WorkflowHandle): Promise<void> {
  await page.goto(await runUrl(handle, 'history'));
  await seen(page, `the workflow id ${handle.workflowId}`, page.getByRole('heading', { name: handle.workflowId }));
  await page.getByRole('button', { name: 'Compact' }).click();
}

/** The compact history's row of one activity: its type and a summary naming the step. */
function activityRow(page: Page, step: string, activityType: string) {
  return page
    .getByTestId('event-summary-row')
    .filter({ hasText: activityType })
    .filter({ hasText: `${step}: ` });
}

describe('the Temporal UI shows a completed and a failed run step by step (headless Chromium)', () => {
  let stackWorker: StackWorker | undefined;
  let browser: Browser | undefined;
  let completed: WorkflowHandle;
  let failed: WorkflowHandle;
  let completedBatch: Batch;
  let pipeline: string;

  before(
    async () => {
      const gateway = new GatewayControl();
      const spec: PipelineSpec = reliabilitySpec();
      pipeline = spec.name;
      const failing = withOwnJob(spec, 'fail');
      await provisionQuietly(spec);
      await provisionQuietly(failing);
      await gateway.scriptJobRuns(spec.transform.jobName, [{ state: 'SUCCEEDED' }]);
      await gateway.scriptJobRuns(failing.transform.jobName, [{ state: 'FAILED', errorMessage: GLUE_ERROR }]);
      completedBatch = await landBatch(spec, unique('ui-ok'));
      const failedBatch = await landBatch(failing, unique('ui-fail'));

      const taskQueue = unique('e2e-ui');
      stackWorker = await startStackWorker(taskQueue);
      const { client } = stackWorker;
      // Started as `npm run glueline -- run` starts them: business-key ids, a static summary, search attributes.
      completed = await client.workflow.start(
        'csvPipeline',
        csvPipelineStartOptions({ spec, batch: completedBatch }, { taskQueue }),
      );
      failed = await client.workflow.start(
        'csvPipeline',
        csvPipelineStartOptions({ spec: failing, batch: failedBatch }, { taskQueue }),
      );
      await completed.result();
      await assert.rejects(failed.result(), WorkflowFailedError);
      browser = await launchChromium();
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await browser?.close();
    await stackWorker?.stop();
  });

  /** Runs `check` on a new page of `height` pixels, then saves a screenshot as `<stack dir>/ui/<name>`. */
  async function onPage(name: string, height: number, check: (page: Page) => Promise<void>): Promise<void> {
    const page = await browser!.newPage({ viewport: { width: 1600, height } });
    try {
      await check(page);
      await page.screenshot({ path: screenshotPath(name) });
    } finally {
      await page.close();
    }
  }

  test("the completed run's history lists every step by name with its activity type", () =>
    // Tall enough for the screenshot to hold every row: the history scrolls inside the page, not the page.
    onPage('completed-run.png', 1700, async (page) => {
      await openHistory(page, completed);
      await seen(page, 'the status Completed', page.getByTestId('execution-status').filter({ hasText: 'Completed' }));
      for (const [step, activityType] of COMPLETED_ACTIVITIES)
        await seen(page, `${activityType} for ${step}`, activityRow(page, step, activityType));
      assert.equal(
        await page.getByTestId('event-summary-row').filter({ hasText: 'Activity Type' }).count(),
        COMPLETED_ACTIVITIES.length,
        'one compact row per activity, and no other activity',
      );
    }));

  test("the failed run's page shows the failing step and Glue's error message", () =>
    onPage('failed-run.png', 1200, async (page) => {
      await openHistory(page, failed);
      await seen(page, 'the status Failed', page.getByTestId('execution-status').filter({ hasText: 'Failed' }));
      await seen(page, 'the failed Glue wait', activityRow(page, 'transform', 'waitForGlueJobRun'));
      await seen(page, 'the failure email', activityRow(page, 'notify-failure', 'sendFailureEmail'));
      await seen(page, "Glue's error message", page.getByText(GLUE_ERROR));
      const replicate = activityRow(page, 'replicate-curated', 'copyObjects');
      assert.equal(await replicate.count(), 0, 'nothing ran after transform');
    }));

  test("the completed run's user metadata shows its summary and, from the worker, its current details", () =>
    onPage('completed-run-metadata.png', 800, async (page) => {
      await page.goto(await runUrl(completed, 'user-metadata'));
      // The UI renders both as Markdown, each in an iframe of its own.
      const summary = page.frameLocator('#user-metadata-summary');
      await seen(page, 'the static summary', summary.getByText(`${pipeline}: batch ${completedBatch.id}`));
      const details = page.frameLocator('#user-metadata-current-details');
      await seen(page, 'the current details', details.getByText('8 of 8 steps done'));
    }));
});
