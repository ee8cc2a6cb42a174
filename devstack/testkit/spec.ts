/** The sample spec, renamed for one test: the test stack is shared by every test file. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { repoRoot } from '../paths';
import { primaryRegion } from '../../src/workflow-safe/layout';
import { provision } from '../../src/starters/provision';
import { loadSpecFile } from '../../src/starters/spec-file';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import { createSpecRedshiftTargets } from '../redshift-targets';
import { awsClientConfig, stack, unique } from './stack';

/** specs/local-sales.yaml with a pipeline name, buckets, database, crawlers, job and Redshift workgroup no other test uses. */
export function uniqueSalesSpec(options: { versioning?: boolean } = {}): PipelineSpec {
  const base = uniqueSpec(loadSpecFile(path.join(repoRoot, 'specs', 'local-sales.yaml')), 'p');
  return { ...base, provision: { ...base.provision, bucketVersioning: options.versioning ?? false } };
}

/**
 * `base` with a pipeline name, buckets, database, crawlers, job and Redshift workgroup no other test uses (named
 * `<tag>-...`): the pipeline name is in every workflow id and manifest key, so two test files that run batch `b1` on
 * the shared stack start two workflows, and `list --spec` shows one file's runs only.
 */
export function uniqueSpec(base: PipelineSpec, tag: string): PipelineSpec {
  const id = unique(tag).toLowerCase();
  return {
    ...base,
    name: id,
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
  await provisionQuietly(spec);
  return { spec, workDir, specFile };
}

/**
 * `npm run provision` of `spec` on the test stack (transform.module relative to `specDir`), printing nothing, and its Redshift workgroups and
 * clusters created (provisioning leaves those to the account, as on AWS).
 */
export async function provisionQuietly(spec: PipelineSpec, options: { specDir?: string } = {}): Promise<void> {
  await provision({
    spec,
    specDir: options.specDir,
    target: { endpoint: stack().aws.endpoint, description: 'the test stack' },
    yes: false,
    log: () => {},
  });
  await createSpecRedshiftTargets(stack().aws.endpoint, spec);
}

/** Puts the sample CSVs (samples/sales, the first `count` of them) under `prefix` in the spec's primary raw bucket. */
export async function putSampleCsvs(spec: PipelineSpec, prefix: string, count = Infinity): Promise<void> {
  const primary = primaryRegion(spec);
  const samples = path.join(repoRoot, 'samples', 'sales');
  const s3 = new S3Client(awsClientConfig(primary.region));
  try {
    for (const name of fs
      .readdirSync(samples)
      .filter((n) => n.endsWith('.csv'))
      .slice(0, count)) {
      const Body = fs.readFileSync(path.join(samples, name));
      await s3.send(new PutObjectCommand({ Bucket: primary.rawBucket, Key: `${prefix}${name}`, Body }));
    }
  } finally {
    s3.destroy();
  }
}
