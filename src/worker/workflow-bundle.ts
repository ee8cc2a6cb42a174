/**
 * How the worker bundles its workflows: the modules every run shares (src/workflow-safe/preload.ts) are preloaded
 * into the reusable V8 context once, instead of being evaluated again for each cached run.
 */

/** `bundlerOptions.preloadModules` for `Worker.create`, and `preloadModules` for `bundleWorkflowCode`. */
export const WORKFLOW_PRELOAD_MODULES: string[] = [require.resolve('../workflow-safe/preload')];
