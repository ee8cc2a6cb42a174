/** Glue Data Catalog databases: one per region and name, created when missing (nothing to update). */
import { CreateDatabaseCommand, GetDatabaseCommand, type GlueClient } from '@aws-sdk/client-glue';
import type { PipelineSpec } from '../workflow-safe/spec';
import { read, type Change } from './change';

/** A create of the database when it does not exist. */
export async function planDatabase(glue: GlueClient, name: string, region: string): Promise<Change[]> {
  const found = await read(
    `Glue database ${name} (${region})`,
    'glue:GetDatabase',
    () => glue.send(new GetDatabaseCommand({ Name: name })),
    ['EntityNotFoundException'],
  );
  if (found) return [];
  return [
    {
      action: 'create',
      resource: `Glue database ${name} (${region})`,
      detail: 'catalog database for the crawlers',
      permission: 'glue:CreateDatabase',
      apply: async () => {
        await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: name } }));
      },
    },
  ];
}

/** The spec's databases, each (region, name) once: two regions may share a name, a region may list one twice. */
export function databasesOf(spec: PipelineSpec): { name: string; region: string }[] {
  const byKey = new Map(
    spec.regions.map((r) => [`${r.region}/${r.glueDatabase}`, { name: r.glueDatabase, region: r.region }]),
  );
  return [...byKey.values()];
}
