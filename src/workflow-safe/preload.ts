/**
 * The modules every workflow run shares instead of evaluating its own copy: the worker preloads this file into
 * its reusable V8 context (`bundlerOptions.preloadModules`, src/worker/workflow-bundle.ts). Without it each cached
 * run re-evaluates every module it imports, and the spec's zod schemas alone are about 1.2 MiB of heap a run.
 *
 * Every module here must hold no per-run state: each is pure functions, constants and zod schemas; and a parsed spec is
 * never mutated (zod's defaults are shallow copies, so their nested objects are shared by every run). The SDK deep-freezes
 * what preloaded modules export; zod 4 schemas memoize on first use (a frozen schema throws "object is not
 * extensible" when parsed), so each module's exports object is frozen here first, shallowly: the SDK's freeze stops
 * at an object that is already frozen, and the schemas stay usable. A new file in src/workflow-safe/ is listed here
 * (test/unit/workflow-preload.test.ts checks).
 */
import * as activityTypes from './activity-types';
import * as awsRegions from './aws-regions';
import * as failures from './failures';
import * as freshness from './freshness';
import * as guards from './guards';
import * as keyList from './key-list';
import * as layout from './layout';
import * as manifestFiles from './manifest-files';
import * as pipeline from './pipeline';
import * as polling from './polling';
import * as refreshRules from './refresh-rules';
import * as runInput from './run-input';
import * as specFreshness from './spec-freshness';
import * as specGuards from './spec-guards';
import * as specParts from './spec-parts';
import * as specRefresh from './spec-refresh';
import * as spec from './spec';
import * as stepCommand from './step-command';
import * as suggest from './suggest';
import * as userTransform from './user-transform';
import * as validation from './validation';
import { z } from 'zod';

/** The preloaded modules' exports, by file name (frozen, shallowly). */
export const PRELOADED: Readonly<Record<string, object>> = Object.freeze({
  'activity-types': activityTypes,
  'aws-regions': awsRegions,
  failures,
  freshness,
  guards,
  'key-list': keyList,
  layout,
  'manifest-files': manifestFiles,
  pipeline,
  polling,
  'refresh-rules': refreshRules,
  'run-input': runInput,
  'spec-freshness': specFreshness,
  'spec-guards': specGuards,
  'spec-parts': specParts,
  'spec-refresh': specRefresh,
  spec,
  'step-command': stepCommand,
  suggest,
  'user-transform': userTransform,
  validation,
});
for (const moduleExports of Object.values(PRELOADED)) Object.freeze(moduleExports);
// zod's own string formats: a check sets a pattern's lastIndex before it tests, which a frozen RegExp refuses.
Object.freeze(z.regexes);
