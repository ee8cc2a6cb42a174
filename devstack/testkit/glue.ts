import { CreateJobCommand, type CreateJobCommandInput, type GlueClient } from '@aws-sdk/client-glue';
import { unique } from './stack';

/** Creates a Glue job definition (in moto, through the gateway) with a unique name, and returns the name. */
export async function createGlueJob(glue: GlueClient, job: Partial<CreateJobCommandInput> = {}): Promise<string> {
  const Name = job.Name ?? unique('gw-job');
  await glue.send(
    new CreateJobCommand({
      Role: 'arn:aws:iam::123456789012:role/glue',
      Command: { Name: 'glueetl', ScriptLocation: 's3://scripts/job.py' },
      ...job,
      Name,
    }),
  );
  return Name;
}
