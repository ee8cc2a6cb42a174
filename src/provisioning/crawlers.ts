/** Glue crawlers: the raw crawler in the primary region and a curated crawler per region. */
import {
  CreateCrawlerCommand,
  GetCrawlerCommand,
  UpdateCrawlerCommand,
  type Crawler,
  type GlueClient,
} from '@aws-sdk/client-glue';
import { primaryRegion, s3Uri } from '../workflow-safe/layout';
import type { PipelineSpec } from '../workflow-safe/spec';
import { differences, read, requireRole, roleName, update, type Change, type FieldChange } from './change';

/** Every partition folder (batch_id=...) of a prefix is one table, not a table per batch. */
const CRAWLER_CONFIGURATION = { Version: 1.0, Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas' } };

/**
 * Each crawl reads only the folders added since the last one (a batch adds batch_id=<id>/), not every batch again;
 * Glue allows that only with a SchemaChangePolicy of LOG and LOG: new tables and partitions are still added, but a
 * changed schema is only logged (docs/operations-on-aws.md says how to re-crawl everything after a column change).
 */
export const RECRAWL_POLICY = { RecrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' } as const;
export const SCHEMA_CHANGE_POLICY = { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' } as const;

/** A crawler as the spec wants it. */
export interface CrawlerWanted {
  name: string;
  region: string;
  databaseName: string;
  path: string;
  description: string;
}

/** The spec's crawlers: the raw one in the primary region, then each region's curated one. */
export function crawlersOf(spec: PipelineSpec): CrawlerWanted[] {
  const primary = primaryRegion(spec);
  return [
    {
      name: spec.raw.crawler,
      region: primary.region,
      databaseName: primary.glueDatabase,
      path: s3Uri(primary.rawBucket, spec.raw.prefix),
      description: `glueline pipeline ${spec.name}: raw CSV batches`,
    },
    ...spec.regions.map((r) => ({
      name: r.curatedCrawler,
      region: r.region,
      databaseName: r.glueDatabase,
      path: s3Uri(r.curatedBucket, spec.transform.curatedPrefix),
      description: `glueline pipeline ${spec.name}: curated Parquet`,
    })),
  ];
}

/** Which fields of an existing crawler differ from what the spec wants. */
export function crawlerDrift(actual: Crawler, wanted: CrawlerWanted, roleArn: string | undefined): FieldChange[] {
  let configuration: unknown = actual.Configuration;
  try {
    // Glue may give the JSON back with other spacing or key order.
    configuration = actual.Configuration ? JSON.parse(actual.Configuration) : undefined;
  } catch {
    // not JSON: differs, and is shown as it is
  }
  return differences([
    ['Role', roleName(actual.Role), roleName(roleArn ?? actual.Role)],
    ['DatabaseName', actual.DatabaseName, wanted.databaseName],
    ['Description', actual.Description, wanted.description],
    ['Targets.S3Targets', (actual.Targets?.S3Targets ?? []).map((t) => t.Path), [wanted.path]],
    ['Configuration', configuration, CRAWLER_CONFIGURATION],
    ['RecrawlPolicy.RecrawlBehavior', actual.RecrawlPolicy?.RecrawlBehavior, RECRAWL_POLICY.RecrawlBehavior],
    [
      'SchemaChangePolicy',
      {
        UpdateBehavior: actual.SchemaChangePolicy?.UpdateBehavior,
        DeleteBehavior: actual.SchemaChangePolicy?.DeleteBehavior,
      },
      SCHEMA_CHANGE_POLICY,
    ],
  ]);
}

/** A create of the crawler, an update of the fields that drifted, or nothing. */
export async function planCrawler(
  glue: GlueClient,
  wanted: CrawlerWanted,
  roleArn: string | undefined,
): Promise<Change[]> {
  const resource = `Glue crawler ${wanted.name} (${wanted.region})`;
  const found = await read(resource, 'glue:GetCrawler', () => glue.send(new GetCrawlerCommand({ Name: wanted.name })), [
    'EntityNotFoundException',
  ]);
  const input = {
    Name: wanted.name,
    DatabaseName: wanted.databaseName,
    Description: wanted.description,
    Targets: { S3Targets: [{ Path: wanted.path }] },
    Configuration: JSON.stringify(CRAWLER_CONFIGURATION),
    RecrawlPolicy: RECRAWL_POLICY,
    SchemaChangePolicy: SCHEMA_CHANGE_POLICY,
  };
  if (!found?.Crawler) {
    const role = requireRole(roleArn, resource);
    return [
      {
        action: 'create',
        resource,
        detail: `crawls ${wanted.path} into database ${wanted.databaseName}`,
        permission: `glue:CreateCrawler, and iam:PassRole on ${role}`,
        apply: async () => {
          await glue.send(new CreateCrawlerCommand({ ...input, Role: role }));
        },
      },
    ];
  }
  const role = roleArn ?? found.Crawler.Role;
  return update(
    resource,
    crawlerDrift(found.Crawler, wanted, roleArn),
    `glue:UpdateCrawler, and iam:PassRole on ${role}`,
    async () => {
      await glue.send(new UpdateCrawlerCommand({ ...input, Role: role }));
    },
  );
}
