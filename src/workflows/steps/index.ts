/**
 * Every step's body, by step name. The record must name a body for every StepName, so a new step without
 * one does not compile; the runner runs steps only through it.
 */
import type { StepName } from '../../workflow-safe/run-input';
import type { StepBody } from '../run-state';
import { crawlCurated, crawlRaw } from './crawl';
import { redshiftRefresh } from './redshift-refresh';
import { replicateCurated } from './replicate-curated';
import { stageRaw } from './stage-raw';
import { transform } from './transform';

/** The body of each step: what it does with its progress and its run. */
export const STEP_BODIES = {
  'stage-raw': stageRaw,
  'crawl-raw': crawlRaw,
  transform,
  'replicate-curated': replicateCurated,
  'crawl-curated': crawlCurated,
  'redshift-refresh': redshiftRefresh,
} satisfies Record<StepName, StepBody>;
