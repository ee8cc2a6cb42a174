/** The workflows the worker registers (workflowsPath points here). */
export { csvPipeline, pipelineStep } from './csv-pipeline';
export { progressQuery } from './run';
export { scheduledCsvPipeline } from './scheduled';
