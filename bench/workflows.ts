/**
 * The bench worker's workflows: glueline's own, plus a trivial two-activity workflow, the baseline for
 * step hand-off latency (the least a Temporal workflow can do between two activities on this stack).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities } from './instant-activities';

export * from '../src/workflows';

const { baselineStep } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '10 seconds' });

/** Two activities in a row, nothing else. */
export async function twoActivities(): Promise<void> {
  await baselineStep('a');
  await baselineStep('b');
}
