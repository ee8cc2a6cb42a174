/**
 * Whether a worker polls the task queue a run goes to (DescribeTaskQueue), so a start never waits in
 * silence for a worker that is not there.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';

/** temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW (the proto package is not a direct dependency). */
const TASK_QUEUE_TYPE_WORKFLOW = 1;

/** How long a start looks for a poller: a worker that just started polls within a second or two. */
export const WORKER_CHECK_MS = 5_000;

/** The workers (their identities) that polled `taskQueue` for workflow tasks recently, as the server saw them. */
export async function workflowPollers(client: Client, namespace: string, taskQueue: string): Promise<string[]> {
  const response = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (response.pollers ?? []).map((p) => p.identity ?? 'a worker');
}

/** Asks until a poller shows up or `withinMs` passes. @returns whether one polls */
export async function workerPolls(
  client: Client,
  namespace: string,
  taskQueue: string,
  withinMs = WORKER_CHECK_MS,
): Promise<boolean> {
  for (const end = Date.now() + withinMs; ;) {
    if ((await workflowPollers(client, namespace, taskQueue)).length > 0) return true;
    if (Date.now() >= end) return false;
    await sleep(500);
  }
}

/** What to tell an operator when no worker polls `taskQueue`. */
export const noWorkerMessage = (taskQueue: string, namespace: string): string =>
  `no worker polls task queue ${taskQueue} in namespace ${namespace}: start one with \`glueline worker\` ` +
  `(or \`npm run worker\` in a checkout) with the same TEMPORAL_* and GLUELINE_TASK_QUEUE settings as this command`;
