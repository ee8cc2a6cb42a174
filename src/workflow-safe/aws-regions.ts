/**
 * The AWS regions a spec may name, by partition: pinned here (a workflow may not read the SDK's data), copied
 * from the partition table of the pinned AWS SDK (`@aws-sdk/core`'s `partition()`, partitions version 1.1).
 * test/unit/spec-suggestions.test.ts checks every entry against that table, so an SDK upgrade that moves a
 * region shows up there; a region AWS opens later is added here.
 */
export const AWS_PARTITIONS = [
  {
    partition: 'aws',
    regions: [
      'af-south-1',
      'ap-east-1',
      'ap-east-2',
      'ap-northeast-1',
      'ap-northeast-2',
      'ap-northeast-3',
      'ap-south-1',
      'ap-south-2',
      'ap-southeast-1',
      'ap-southeast-2',
      'ap-southeast-3',
      'ap-southeast-4',
      'ap-southeast-5',
      'ap-southeast-6',
      'ap-southeast-7',
      'ca-central-1',
      'ca-west-1',
      'eu-central-1',
      'eu-central-2',
      'eu-north-1',
      'eu-south-1',
      'eu-south-2',
      'eu-west-1',
      'eu-west-2',
      'eu-west-3',
      'il-central-1',
      'me-central-1',
      'me-south-1',
      'me-west-1',
      'mx-central-1',
      'sa-east-1',
      'sa-west-1',
      'us-east-1',
      'us-east-2',
      'us-west-1',
      'us-west-2',
    ],
  },
  { partition: 'aws-cn', regions: ['cn-north-1', 'cn-northwest-1'] },
  { partition: 'aws-us-gov', regions: ['us-gov-east-1', 'us-gov-west-1'] },
  { partition: 'aws-eusc', regions: ['eusc-de-east-1'] },
  { partition: 'aws-iso', regions: ['us-iso-east-1', 'us-iso-west-1'] },
  { partition: 'aws-iso-b', regions: ['us-isob-east-1', 'us-isob-west-1'] },
  { partition: 'aws-iso-e', regions: ['eu-isoe-west-1'] },
  { partition: 'aws-iso-f', regions: ['us-isof-east-1', 'us-isof-south-1'] },
] as const;

/** Every region of {@link AWS_PARTITIONS}, in its order. */
export const AWS_REGIONS: readonly string[] = AWS_PARTITIONS.flatMap((p) => p.regions);

/** The partition (`aws`, `aws-cn`, `aws-us-gov`...) of a known region, or undefined. */
export function partitionOf(region: string): string | undefined {
  return AWS_PARTITIONS.find((p) => (p.regions as readonly string[]).includes(region))?.partition;
}
