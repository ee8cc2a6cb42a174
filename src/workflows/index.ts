/** The workflows the worker registers (workflowsPath points here). */
export { csvPipeline, pipelineStep } from './csv-pipeline';
export { progressQuery } from './runner';
export { scheduledCsvPipeline } from './scheduled';
export { freshnessWatch } from './freshness-watch';
