/**
 * `glueline freshness --spec <file>`: sets up the pipeline's freshness watch (src/workflows/freshness-watch.ts) as
 * the spec's `freshness` section says: starts it, gives a running one the new settings, or stops it when the
 * section is gone. `provision` does the same (src/starters/freshness-setup.ts); this command is for a change of
 * the section alone, and for provisioning that cannot reach Temporal.
 */
import { FRESHNESS_CONFIGURE_SIGNAL, FRESHNESS_WORKFLOW } from '../workflow-safe/freshness';
import { parseCommandArgs, UsageError, withClient, type CommandIo } from './common';
import { setUpFreshnessWatch } from './freshness-setup';
import { loadSpec } from './spec-arg';

export const freshnessUsage = `usage: glueline freshness --spec <file>

Sets up the pipeline's freshness watch from the spec's freshness section: a workflow run by Temporal
(workflow id freshness-watch-<pipeline>, type ${FRESHNESS_WORKFLOW}) that notifies once per window with no batch
completed (no run started, a run failed, or a run still going) and once when data is back. Starts the watch,
gives a running one the spec's new settings, or stops it when the spec has no freshness section. Its state:
glueline health --pipeline <name>. The worker must be running for the watch to run. provision does the same
after AWS when Temporal is reachable.

the same with the temporal CLI:
  temporal workflow start --type ${FRESHNESS_WORKFLOW} --task-queue glueline --workflow-id freshness-watch-<name> \\
    --input-file watch-input.json        ({"pipeline", "freshness", "notify", "sentRecord"})
  temporal workflow signal --workflow-id freshness-watch-<name> --name ${FRESHNESS_CONFIGURE_SIGNAL} --input null   (stops it)
`;

const options = { spec: { type: 'string' } } as const;

/** The `freshness` command. @returns the exit code. */
export async function freshnessCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('freshness', args, options);
  if (values.help) {
    io.out(freshnessUsage);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument(s) ${positionals.join(' ')}: give --spec FILE`);
  const spec = loadSpec(values.spec);
  return withClient(async (client, namespace) => {
    const { lines } = await setUpFreshnessWatch(client, namespace, spec);
    for (const line of lines) io.out(line);
    return 0;
  });
}
