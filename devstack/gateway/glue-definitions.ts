/**
 * The Glue definition updates moto 5.2.5 lacks, UpdateJob and UpdateCrawler, and the recrawl-policy rules it does
 * not check on CreateCrawler. The gateway writes the
 * updated definition back into moto, which stays the one place definitions live, so every later read
 * (GetJob, GetJobs, GetCrawler, the JobRunner's GetJob) sees it. moto keeps tags apart, by ARN, so they
 * survive an update; unlike Glue, CreatedOn (CreationTime) becomes the time of the update and a
 * crawler's Version stays 1.
 */
import { AwsError } from './aws-protocol';
import type { GlueCrawlers } from './glue-crawlers';
import type { GluePart } from './glue';
import type { Moto } from './moto';
import type { AwsJsonCall } from './router';

type Definition = Record<string, unknown>;

/** The fields of GetCrawler's answer that CreateCrawler and UpdateCrawler take as they are (Schedule aside). */
const CRAWLER_FIELDS = [
  'Role',
  'DatabaseName',
  'Description',
  'Targets',
  'Classifiers',
  'TablePrefix',
  'SchemaChangePolicy',
  'RecrawlPolicy',
  'LineageConfiguration',
  'LakeFormationConfiguration',
  'Configuration',
  'CrawlerSecurityConfiguration',
] as const;

/** A crawler as GetCrawler returns it, turned back into CreateCrawler's input. */
function crawlerInput(crawler: Definition): Definition {
  const input: Definition = { Name: crawler.Name };
  for (const field of CRAWLER_FIELDS) if (crawler[field] != null) input[field] = crawler[field];
  const schedule = (crawler.Schedule as { ScheduleExpression?: string } | undefined)?.ScheduleExpression;
  if (schedule) input.Schedule = schedule;
  return input;
}

function requiredString(input: Definition, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') throw new AwsError('InvalidInputException', `${field} is required`);
  return value;
}

/**
 * Glue's rules for a crawler's recrawl policy, which moto does not check (CreateCrawler, UpdateCrawler): crawling
 * new folders only needs a SchemaChangePolicy of LOG and LOG (Glue's defaults, UPDATE_IN_DATABASE and
 * DEPRECATE_IN_DATABASE, are refused), and event mode an SQS queue on every S3 target.
 */
export function checkRecrawlPolicy(crawler: Definition): void {
  const behavior = (crawler.RecrawlPolicy as { RecrawlBehavior?: string } | undefined)?.RecrawlBehavior;
  const schema = (crawler.SchemaChangePolicy ?? {}) as { UpdateBehavior?: string; DeleteBehavior?: string };
  if (behavior === 'CRAWL_NEW_FOLDERS_ONLY' && (schema.UpdateBehavior !== 'LOG' || schema.DeleteBehavior !== 'LOG')) {
    throw new AwsError(
      'InvalidInputException',
      'The SchemaChangePolicy for "Crawl new folders only" Amazon S3 target can have only LOG DeleteBehavior value ' +
        'and LOG UpdateBehavior value.',
    );
  }
  const s3Targets = (crawler.Targets as { S3Targets?: { EventQueueArn?: string }[] } | undefined)?.S3Targets ?? [];
  if (behavior === 'CRAWL_EVENT_MODE' && (s3Targets.length === 0 || s3Targets.some((t) => !t.EventQueueArn))) {
    throw new AwsError(
      'InvalidInputException',
      'A crawler with RecrawlBehavior CRAWL_EVENT_MODE needs an EventQueueArn on each of its S3 targets.',
    );
  }
}

export class GlueDefinitions implements GluePart {
  readonly operations = ['CreateCrawler', 'UpdateJob', 'UpdateCrawler'];

  constructor(
    private readonly moto: Moto,
    private readonly crawlers: GlueCrawlers,
  ) {}

  async handle({ region, operation, input }: AwsJsonCall): Promise<unknown> {
    const glue = (target: string, body: Definition) =>
      this.moto.json<Definition>(region, 'glue', `AWSGlue.${target}`, body);
    switch (operation) {
      case 'CreateCrawler':
        checkRecrawlPolicy(input);
        return glue('CreateCrawler', input);
      case 'UpdateJob': {
        const JobName = requiredString(input, 'JobName');
        const update = input.JobUpdate;
        if (typeof update !== 'object' || update === null) {
          throw new AwsError('InvalidInputException', 'JobUpdate is required');
        }
        await glue('GetJob', { JobName }); // a missing job: moto's EntityNotFoundException
        // As on Glue, JobUpdate is the whole new definition; moto's CreateJob replaces a job of the same name.
        await glue('CreateJob', { ...update, Name: JobName });
        return { JobName };
      }
      case 'UpdateCrawler': {
        const Name = requiredString(input, 'Name');
        const { Crawler: crawler } = await glue('GetCrawler', { Name });
        if (this.crawlers.isCrawling(region, Name)) {
          throw new AwsError(
            'CrawlerRunningException',
            `Crawler with name ${Name} is running: stop it (StopCrawler) or let the crawl end before updating it`,
          );
        }
        // Only the fields given change. moto refuses CreateCrawler for a name it has, so the old definition
        // is deleted first, and put back if moto refuses the new one. A GetCrawler in between would find
        // no crawler; the crawl check above keeps the pipeline's own waits out of that moment.
        const current = crawlerInput(crawler as Definition);
        checkRecrawlPolicy({ ...current, ...input });
        await glue('DeleteCrawler', { Name });
        try {
          await glue('CreateCrawler', { ...current, ...input });
        } catch (err) {
          await glue('CreateCrawler', current);
          throw err;
        }
        return {};
      }
      default:
        throw new AwsError('InvalidInputException', `the gateway does not serve ${operation}`);
    }
  }
}
