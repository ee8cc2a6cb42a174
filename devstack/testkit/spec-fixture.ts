/**
 * Small valid spec inputs for the unit tests of the spec's sections: each test states only the section it is
 * about, over one shared base, instead of restating every required field.
 */
import type { PipelineSpecInput } from '../../src/workflow-safe/spec';

/** One region of a spec input. */
export type RegionInput = PipelineSpecInput['regions'][number];

/**
 * A region named after `letter`: raw-`letter`, cur-`letter` (bucket and crawler), database db and, unless
 * `redshift` is false, Redshift workgroup sales-wg with database dev.
 */
export function regionInput(region: string, letter: string, { redshift = true } = {}): RegionInput {
  return {
    region,
    rawBucket: `raw-${letter}`,
    curatedBucket: `cur-${letter}`,
    glueDatabase: 'db',
    curatedCrawler: `cur-${letter}`,
    ...(redshift && { redshift: { workgroupName: 'sales-wg', database: 'dev' } }),
  };
}

/**
 * A valid spec input for the pipeline `overrides.name` (default sales): one region, us-east-1 with Redshift,
 * the job to-parquet writing under `<name>/`, a refresh that deletes the batch from the table `<name>`, email
 * to the team. Each section in `overrides` replaces the base's whole.
 */
export function specInput(overrides: Partial<PipelineSpecInput> = {}): PipelineSpecInput {
  const name = overrides.name ?? 'sales';
  return {
    name,
    regions: [regionInput('us-east-1', 'a')],
    raw: { crawler: 'raw' },
    transform: { jobName: 'to-parquet', curatedPrefix: `${name}/` },
    redshift: { sql: [`delete from ${name} where batch_id = '\${batch_id}'`] },
    notify: { email: { to: ['team@example.com'], from: 'glueline@example.com' } },
    ...overrides,
  };
}
