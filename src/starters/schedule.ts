/**
 * `glueline schedule create|update|pause|unpause|trigger|delete|describe <scheduleId>`: a
 * Temporal Schedule that runs the pipeline for a prefix on a cron or an interval.
 *
 * A schedule's action input is fixed when it is created, yet each run needs a batch id of its own. The
 * schedule starts `scheduledCsvPipeline` (src/workflows/scheduled.ts), which names the batch
 * `<scheduleId>-<scheduled time as yyyymmddThhmmssZ>` and runs csvPipeline for it as a child under the
 * usual business-key workflow id (csv-pipeline-<spec name>-<batch id>).
 */
import { didYouMean } from '../workflow-safe/suggest';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsAction,
} from '@temporalio/client';
import { SearchAttributeKeys, WorkflowType, type ScheduledPipelineInput } from '../workflow-safe/pipeline';
import { formatDuration } from './progress-view';
import { type PipelineSpec } from '../workflow-safe/spec';
import { Batch, PipelineInput } from '../workflow-safe/run-input';
import { parseOrExplain } from '../workflow-safe/validation';
import { asUsageError, parseCommandArgs, taskQueue, UsageError, withClient, type CommandIo } from './common';
import { runOptionsFromFlags } from './batch-flags';
import { loadSpec } from './spec-arg';

export const OVERLAP_POLICIES = [
  'SKIP',
  'BUFFER_ONE',
  'BUFFER_ALL',
  'CANCEL_OTHER',
  'TERMINATE_OTHER',
  'ALLOW_ALL',
] as const;
type Overlap = (typeof OVERLAP_POLICIES)[number];

export const scheduleUsage = `usage: glueline schedule <action> <scheduleId> [options]

actions:
  create <id> --spec <file> --prefix <p> (--cron "<expr>" | --every <duration>) [--overlap P] [--source-bucket B]
              [--start-at S] [--stop-after S] [--skip S] [--paused] [--note "..."]
  update <id> [the same flags: those given replace the schedule's, the others are kept]
  pause <id> [--note "..."]      unpause <id> [--note "..."]
  trigger <id> [--overlap P]     start a run now (default overlap: the schedule's)
  delete <id>                    runs already started go on
  describe <id>                  state, timing, next times, recent runs and their workflow ids

Each scheduled run processes the objects under --prefix (in --source-bucket, default the primary raw bucket)
as a new batch: batch id <scheduleId>-<scheduled time, e.g. 20261126T120000Z>, workflow id
csv-pipeline-<spec name>-<batch id>, found in the UI by the GluelinePipeline and GluelineBatch search attributes.
The schedule starts scheduledCsvPipeline (workflow id <scheduleId>-<time>), which runs csvPipeline as a child.
A schedule id is 1-46 letters, digits, . _ and -.

  --cron EXPR     a cron expression in UTC, e.g. "0 2 * * *" (02:00 every day)
  --every D       an interval: 30s, 15m, 6h, 1d
  --overlap P     when a run is still going at the next time: ${OVERLAP_POLICIES.join(', ')} (default SKIP)

the same with the temporal CLI (schedule-input.json: {"spec": <spec as JSON>, "source": {"bucket": "<b>",
"prefix": "<p>"}, "batchIdPrefix": "<scheduleId>"}):
  temporal schedule create --schedule-id <id> --cron "0 2 * * *" (or --interval 6h) --overlap-policy Skip \\
    --type scheduledCsvPipeline --task-queue glueline --workflow-id <id> --input-file schedule-input.json \\
    --search-attribute 'GluelinePipeline="<spec name>"'
  temporal schedule update ... (the same flags) | toggle --pause --reason "..." | toggle --unpause |
  temporal schedule trigger --schedule-id <id> | delete --schedule-id <id> | describe --schedule-id <id>
`;

const options = {
  spec: { type: 'string' },
  prefix: { type: 'string' },
  'source-bucket': { type: 'string' },
  cron: { type: 'string' },
  every: { type: 'string' },
  overlap: { type: 'string' },
  'start-at': { type: 'string' },
  'stop-after': { type: 'string' },
  skip: { type: 'string', multiple: true },
  paused: { type: 'boolean', default: false },
  note: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof options>>['values'];

const ACTIONS = ['create', 'update', 'pause', 'unpause', 'trigger', 'delete', 'describe'] as const;

function overlapOf(value: string | undefined): Overlap | undefined {
  if (value === undefined) return undefined;
  const v = value.toUpperCase().replace(/-/g, '_') as Overlap;
  if (!OVERLAP_POLICIES.includes(v))
    throw new UsageError(`--overlap ${value} is not a policy: use one of ${OVERLAP_POLICIES.join(', ')}`);
  return v;
}

function timing(values: Values): { cronExpressions: string[] } | { intervals: { every: string }[] } | undefined {
  if (values.cron !== undefined && values.every !== undefined)
    throw new UsageError('use one of --cron and --every, not both');
  if (values.cron !== undefined) {
    if (values.cron.trim().split(/\s+/).length < 5 && !values.cron.startsWith('@'))
      throw new UsageError(
        `--cron ${JSON.stringify(values.cron)} is not a cron expression: use five fields, e.g. "0 2 * * *"`,
      );
    return { cronExpressions: [values.cron] };
  }
  if (values.every !== undefined) {
    if (!/^\d+(ms|s|m|h|d)$/.test(values.every) || /^0+[a-z]+$/.test(values.every))
      throw new UsageError(
        `--every ${values.every} is not a duration: use a number and a unit, e.g. 30s, 15m, 6h or 1d`,
      );
    return { intervals: [{ every: values.every }] };
  }
  return undefined;
}

/** The schedule action's input, validated as csvPipeline will validate it (with a stand-in batch id). */
export function scheduledInput(
  scheduleId: string,
  spec: PipelineSpec,
  values: Values,
  previous?: ScheduledPipelineInput,
): ScheduledPipelineInput {
  const prefix = values.prefix ?? previous?.source.prefix;
  if (prefix === undefined)
    throw new UsageError('--prefix is required: the S3 prefix each scheduled run processes, ending in /');
  const source = { bucket: values['source-bucket'] ?? previous?.source.bucket ?? spec.regions[0]!.rawBucket, prefix };
  const options = runOptionsFromFlags(values) ?? previous?.options;
  try {
    parseOrExplain(Batch, { id: `${scheduleId}-20261126T120000Z`, source }, 'batch');
    parseOrExplain(PipelineInput, { spec, batch: { id: 'x', source }, ...(options ? { options } : {}) }, 'input');
  } catch (err) {
    asUsageError(err);
  }
  return { spec, source, batchIdPrefix: scheduleId, ...(options ? { options } : {}) };
}

function action(scheduleId: string, input: ScheduledPipelineInput): ScheduleOptionsAction {
  return {
    type: 'startWorkflow',
    workflowType: WorkflowType.scheduled,
    workflowId: scheduleId,
    taskQueue: taskQueue(),
    args: [input],
    staticSummary: `${input.spec.name}: scheduled batch of s3://${input.source.bucket}/${input.source.prefix}`,
    typedSearchAttributes: [{ key: SearchAttributeKeys.pipeline, value: input.spec.name }],
  };
}

function describeLines(d: ScheduleDescription): string[] {
  const spec = d.spec;
  const when = [
    ...(spec.intervals ?? []).map(
      (i) => `every ${typeof i.every === 'number' ? formatDuration(i.every) : String(i.every)}`,
    ),
    ...(spec.calendars ?? []).map((c) => (c.comment ? `cron "${c.comment}"` : 'a calendar')),
  ];
  const input =
    d.action.type === 'startWorkflow' ? (d.action.args?.[0] as ScheduledPipelineInput | undefined) : undefined;
  const lines = [
    `schedule ${d.scheduleId}: ${d.state.paused ? 'PAUSED' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
    `  when:      ${when.join(', ') || '(no times)'}; overlap ${d.policies.overlap}`,
  ];
  if (input)
    lines.push(
      `  runs:      ${d.action.type === 'startWorkflow' ? d.action.workflowType : ''} for s3://${input.source.bucket}/${input.source.prefix} (spec ${input.spec.name}), batch ids ${input.batchIdPrefix}-<time>`,
    );
  lines.push(
    `  next:      ${
      d.info.nextActionTimes
        .slice(0, 3)
        .map((t) => t.toISOString())
        .join(', ') || '(none)'
    }`,
  );
  lines.push(
    `  taken:     ${d.info.numActionsTaken} action(s), ${d.info.numActionsSkippedOverlap} skipped for overlap`,
  );
  for (const a of d.info.recentActions.slice(-5))
    lines.push(`  recent:    ${a.scheduledAt.toISOString()} → ${a.action.workflow.workflowId}`);
  for (const a of d.info.runningActions) lines.push(`  running:   ${a.workflow.workflowId}`);
  return lines;
}

/**
 * Sends a schedule's timing; the server's refusal of it (which the client throws as a TypeError: "Minute is not in
 * range [0-59]") becomes a usage error naming the flag it came from, so it exits 2 like every other bad flag.
 */
async function sendingTiming(values: Values, send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (err) {
    if (!(err instanceof TypeError) || (values.cron === undefined && values.every === undefined)) throw err;
    const [flag, fix] =
      values.cron !== undefined
        ? [`--cron ${JSON.stringify(values.cron)}`, 'use five fields within their ranges, e.g. "0 2 * * *"']
        : [`--every ${values.every}`, 'e.g. 30s, 15m, 6h or 1d'];
    throw new UsageError(`${flag} is refused by the Temporal server (${err.message}): ${fix}`);
  }
}

async function run(client: Client, io: CommandIo, verb: (typeof ACTIONS)[number], scheduleId: string, values: Values) {
  const handle = client.schedule.getHandle(scheduleId);
  const overlap = overlapOf(values.overlap);
  switch (verb) {
    case 'create': {
      const spec = loadSpec(values.spec);
      const when = timing(values);
      if (!when) throw new UsageError('name when it runs: --cron "<expr>" or --every <duration>');
      const input = scheduledInput(scheduleId, spec, values);
      await sendingTiming(values, () =>
        client.schedule.create({
          scheduleId,
          spec: when,
          action: action(scheduleId, input),
          policies: { overlap: overlap ?? 'SKIP' },
          state: { paused: values.paused, ...(values.note ? { note: values.note } : {}) },
          memo: { pipeline: spec.name },
        }),
      );
      io.out(`created schedule ${scheduleId}`);
      break;
    }
    case 'update': {
      const spec = values.spec ? loadSpec(values.spec) : undefined;
      const when = timing(values);
      await sendingTiming(values, () =>
        handle.update((previous) => {
          const prev =
            previous.action.type === 'startWorkflow'
              ? (previous.action.args?.[0] as ScheduledPipelineInput)
              : undefined;
          const nextSpec = spec ?? (prev?.spec as PipelineSpec | undefined);
          if (!nextSpec) throw new UsageError(`schedule ${scheduleId} does not run a pipeline: give --spec`);
          const input = scheduledInput(scheduleId, nextSpec, values, prev);
          return {
            spec: when ?? previous.spec,
            action: action(scheduleId, input),
            policies: { ...previous.policies, ...(overlap ? { overlap } : {}) },
            state: { ...previous.state, ...(values.note ? { note: values.note } : {}) },
          };
        }),
      );
      io.out(`updated schedule ${scheduleId}`);
      break;
    }
    case 'pause':
      await handle.pause(values.note ?? 'paused with glueline schedule pause');
      io.out(`paused schedule ${scheduleId}`);
      break;
    case 'unpause':
      await handle.unpause(values.note ?? 'unpaused with glueline schedule unpause');
      io.out(`unpaused schedule ${scheduleId}`);
      break;
    case 'trigger':
      // The client's default is ALLOW_ALL; an operator's trigger should respect the schedule's own policy.
      await handle.trigger(overlap ?? (await handle.describe()).policies.overlap);
      io.out(`triggered schedule ${scheduleId}: a run starts now (see: glueline schedule describe ${scheduleId})`);
      break;
    case 'delete':
      await handle.delete();
      io.out(`deleted schedule ${scheduleId}`);
      break;
    case 'describe':
      for (const line of describeLines(await handle.describe())) io.out(line);
      break;
  }
  return 0;
}

/** The `schedule` command. @returns the exit code. */
export async function scheduleCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('schedule', args, options);
  if (values.help) {
    io.out(scheduleUsage);
    return 0;
  }
  const [verb, scheduleId, ...rest] = positionals;
  if (!verb || !(ACTIONS as readonly string[]).includes(verb))
    throw new UsageError(
      `schedule${verb ? ` ${verb}` : ''}: name an action, one of ${ACTIONS.join(', ')}${didYouMean(verb ?? '', ACTIONS)}`,
    );
  if (!scheduleId) throw new UsageError(`schedule ${verb} needs a schedule id: schedule ${verb} <scheduleId>`);
  if (rest.length) throw new UsageError(`unexpected argument(s) ${rest.join(' ')}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,45}$/.test(scheduleId))
    throw new UsageError(
      `schedule id ${JSON.stringify(scheduleId)} is not usable: use 1-46 letters, digits, . _ and -, starting with a letter or digit (it starts every batch id)`,
    );
  return withClient(async (client) => {
    try {
      return await run(client, io, verb as (typeof ACTIONS)[number], scheduleId, values);
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning)
        throw new UsageError(
          `schedule ${scheduleId} already exists: change it with schedule update ${scheduleId} ..., or delete it first`,
        );
      if (err instanceof ScheduleNotFoundError)
        throw new UsageError(
          `no schedule ${scheduleId} in this namespace: create it with schedule create ${scheduleId} ...`,
        );
      throw err;
    }
  });
}
