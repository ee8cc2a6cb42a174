/**
 * The freshness watch's check: a pipeline's csvPipeline runs in Temporal's visibility store (the GluelinePipeline
 * search attribute and the outcome memo `glueline list` reads), through the worker's own client. Read only.
 */
import { Context } from '@temporalio/activity';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { GluelineActivities } from '../workflow-safe/activity-types';
import { invalidInput } from '../workflow-safe/failures';
import type { CheckFreshnessInput, FreshnessFindings, GoodBatch } from '../workflow-safe/freshness';
import { OUTCOME_MEMO_KEY, SearchAttributeKeys, WorkflowType, type RunOutcomeMemo } from '../workflow-safe/pipeline';

/** Runs looked at per question: a window holds a handful of batches, not hundreds. */
const PAGE = 100;

async function listed(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const out: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query, pageSize: PAGE })) {
    out.push(info);
    if (out.length >= PAGE) break;
  }
  return out;
}

const batchOf = (info: WorkflowExecutionInfo) =>
  info.typedSearchAttributes.get(SearchAttributeKeys.batch) ?? String(info.memo?.batchId ?? info.workflowId);

const newestClosed = (infos: WorkflowExecutionInfo[]) =>
  [...infos].sort((a, b) => (b.closeTime?.getTime() ?? 0) - (a.closeTime?.getTime() ?? 0))[0];

const good = (info: WorkflowExecutionInfo | undefined): GoodBatch | undefined =>
  info && { batchId: batchOf(info), workflowId: info.workflowId, completedAt: info.closeTime!.toISOString() };

/** What completed, failed and still runs of `input.pipeline` in [from, to], and its last good batch. */
export async function checkFreshness(client: Client, input: CheckFreshnessInput): Promise<FreshnessFindings> {
  // The name goes into a visibility query: only a spec's pipeline name (no quotes) may.
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(input.pipeline))
    throw invalidInput(`pipeline ${JSON.stringify(input.pipeline)} is not a pipeline name: give the spec's name`);
  const runs = `GluelinePipeline = '${input.pipeline}' AND WorkflowType = '${WorkflowType.pipeline}'`;
  const window = `CloseTime >= '${input.from}' AND CloseTime <= '${input.to}'`;
  const [closed, running, completed] = await Promise.all([
    listed(client, `${runs} AND ${window}`),
    listed(client, `${runs} AND ExecutionStatus = 'Running'`),
    listed(client, `${runs} AND ExecutionStatus = 'Completed' AND CloseTime <= '${input.to}'`),
  ]);
  const completedIn = newestClosed(closed.filter((i) => i.status.name === 'COMPLETED'));
  const failedIn = newestClosed(closed.filter((i) => i.status.name !== 'COMPLETED'));
  const stillGoing = [...running].sort((a, b) => b.startTime.getTime() - a.startTime.getTime())[0];
  const outcome = (failedIn?.memo?.[OUTCOME_MEMO_KEY] ?? {}) as RunOutcomeMemo;
  const lastGood = good(newestClosed(completed));
  return {
    ...(completedIn ? { completed: good(completedIn)! } : {}),
    ...(failedIn
      ? {
          failed: {
            batchId: batchOf(failedIn),
            workflowId: failedIn.workflowId,
            status: failedIn.status.name,
            ...(outcome.failedStep ? { failedStep: outcome.failedStep } : {}),
            closedAt: failedIn.closeTime!.toISOString(),
          },
        }
      : {}),
    ...(stillGoing
      ? {
          running: {
            batchId: batchOf(stillGoing),
            workflowId: stillGoing.workflowId,
            startedAt: stillGoing.startTime.toISOString(),
          },
        }
      : {}),
    ...(lastGood ? { lastGood } : {}),
  };
}

/** The check activity, over the worker's client (the Temporal client every activity's context carries). */
export function createFreshnessActivities(): Pick<GluelineActivities, 'checkFreshness'> {
  return { checkFreshness: (input) => checkFreshness(Context.current().client, input) };
}
