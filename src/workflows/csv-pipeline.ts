/**
 * The two workflow types: `csvPipeline` runs the whole pipeline for a batch (or the steps its options
 * select: the redrive case), `pipelineStep` runs one step instance alone. Both run steps through the one
 * runner in ./runner, with the same activity options, `progress` query and notify-on-failure.
 */
import { PipelineStepInput, type PipelineResult, type PipelineStepInputRaw } from '../workflow-safe/pipeline';
import {
  PipelineInput,
  STEPS,
  type PipelineInputRaw,
  type RunOptions,
  type StepName,
} from '../workflow-safe/run-input';
import { allStepInstances, PipelineRun, type SkipRule } from './run-state';
import { validateOrNotify } from './refused';
import { runPipeline, validateInput } from './runner';

/**
 * Runs a batch through the pipeline: stage-raw, crawl-raw, transform, replicate-curated, then
 * crawl-curated and redshift-refresh in every region in parallel. `options` start at, stop after or
 * skip steps. Any failure sends one notification, then fails the run with the original cause. An input refused
 * before any step runs notifies only when a schedule or an S3 event started the run (see ./refused).
 */
export async function csvPipeline(input: PipelineInputRaw): Promise<PipelineResult> {
  const { spec, batch, options } = await validateOrNotify(PipelineInput, input);
  return runPipeline(new PipelineRun(spec, batch, allStepInstances(spec), optionsSkipRule(options)));
}

/**
 * Runs exactly one step (and region, for crawl-curated and redshift-refresh) of a spec and a batch, as
 * csvPipeline would run it: same activity options, same `progress` query, same failure notification.
 */
export async function pipelineStep(input: PipelineStepInputRaw): Promise<PipelineResult> {
  const { spec, batch, step, region } = validateInput(PipelineStepInput, input);
  return runPipeline(new PipelineRun(spec, batch, [{ name: step, region }], () => undefined));
}

/** Why `options` leave a step out: before startAt, after stopAfter, or listed in skip. */
export function optionsSkipRule(options: RunOptions | undefined): SkipRule {
  const index = (step: StepName) => STEPS.indexOf(step);
  return (step) => {
    if (!options) return undefined;
    if (options.startAt && index(step) < index(options.startAt)) return `before options.startAt (${options.startAt})`;
    if (options.stopAfter && index(step) > index(options.stopAfter))
      return `after options.stopAfter (${options.stopAfter})`;
    if (options.skip.includes(step)) return 'listed in options.skip';
    return undefined;
  };
}
