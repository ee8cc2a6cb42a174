/**
 * Provisioning: what a pipeline spec needs in AWS, created or brought up to date idempotently, one module
 * per resource kind (buckets, databases, crawlers, job script, job) and the plan that asks each of them.
 *
 * {@link planProvisioning} only reads (so missing permissions and conflicts surface before anything is
 * touched) and returns the changes as a plan; {@link applyChanges} makes them, in order. A second run
 * against the same spec plans nothing.
 */
export { ProvisionError, type Change, type FieldChange } from './change';
export { crawlerDrift } from './crawlers';
export { JOB_MODULES, JOB_SCRIPT, SCRIPTS_PREFIX, glueBundle, storedZip } from './job-script';
export { MAX_CONCURRENT_RUNS, jobDrift, jobUpdate, wantedJob } from './job';
export { applyChanges, describePlan, planProvisioning, type ProvisionClients, type ProvisionOptions } from './plan';
