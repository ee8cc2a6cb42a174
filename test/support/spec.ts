/** The sample spec, renamed for one test: the test stack is shared by every test file. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../devstack/paths';
import { provision } from '../../src/starters/provision';
import { loadSpecFile } from '../../src/starters/spec-file';
import type { PipelineSpec } from '../../src/spec';
import { stack, unique } from './stack';

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

/**
 * A unique sales spec, written to a JSON file in a fresh temporary folder and provisioned on the test stack:
 * what a test of the command-line starters needs before its first command.
 */
export async function provisionedSpecFile(
  tag: string,
): Promise<{ spec: PipelineSpec; workDir: string; specFile: string }> {
  const spec = uniqueSalesSpec();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `glueline-${tag}-`));
  const specFile = path.join(workDir, 'spec.json');
  fs.writeFileSync(specFile, JSON.stringify(spec));
  await provision({
    spec,
    target: { endpoint: stack().aws.endpoint, description: 'the test stack' },
    yes: false,
    log: () => {},
  });
  return { spec, workDir, specFile };
}
