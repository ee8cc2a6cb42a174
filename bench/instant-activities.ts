/**
 * The bench-only activity set: glueline's activities answered at once with plausible results (the
 * workflow tests' fakes), so a pipeline's time is all Temporal and worker. Injected into an in-process
 * worker on the bench stack's dev server.
 */
import { NativeConnection, Worker, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { fakeActivities } from '../devstack/testkit/workflow-harness';

export interface BaselineActivities {
  baselineStep(name: string): Promise<string>;
}

export function instantActivities() {
  const fakes = fakeActivities();
  const baseline: BaselineActivities = { baselineStep: async (name) => name };
  return { ...fakes, ...baseline };
}

/** A worker on its own task queue with instant activities. */
export async function instantWorker(
  address: string,
  bundle: WorkflowBundleWithSourceMap,
  taskQueue: string,
  options: Partial<WorkerOptions> = {},
  /** Replaces some activities before the worker registers them (it copies them at creation). */
  override: (activities: ReturnType<typeof instantActivities>) => void = () => undefined,
): Promise<{ worker: Worker; connection: NativeConnection; activities: ReturnType<typeof instantActivities> }> {
  const connection = await NativeConnection.connect({ address });
  const activities = instantActivities();
  override(activities);
  const worker = await Worker.create({ connection, taskQueue, workflowBundle: bundle, activities, ...options });
  return { worker, connection, activities };
}
