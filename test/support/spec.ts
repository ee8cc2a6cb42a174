/** The sample spec, renamed for one test: the test stack is shared by every test file. */
import path from 'node:path';
import { repoRoot } from '../../devstack/paths';
import { loadSpecFile } from '../../src/starters/spec-file';
import type { PipelineSpec } from '../../src/spec';
import { unique } from './stack';

/** specs/local-sales.yaml with buckets, database, crawlers, job and Redshift workgroup no other test uses. */
export function uniqueSalesSpec(options: { versioning?: boolean } = {}): PipelineSpec {
  const base = loadSpecFile(path.join(repoRoot, 'specs', 'local-sales.yaml'));
  const id = unique('p').toLowerCase();
  return {
    ...base,
    regions: base.regions.map((r, i) => ({
      ...r,
      rawBucket: `${id}-raw-${i}`,
      curatedBucket: `${id}-cur-${i}`,
      glueDatabase: `${id}_db`.replace(/-/g, '_'),
      curatedCrawler: `${id}-curated-${i}`,
      redshift: r.redshift && { ...r.redshift, workgroupName: `${id}-wg` },
    })),
    raw: { ...base.raw, crawler: `${id}-raw` },
    transform: { ...base.transform, jobName: `${id}-job` },
    provision: { ...base.provision, bucketVersioning: options.versioning ?? false },
  };
}
