/**
 * `npm run demo`: the main job from the README's Quickstart.
 * For now it brings the local stack up (or reuses the running one) and prints where everything is;
 * the pipeline run itself arrives with the csvPipeline workflow.
 */
import { DEFAULT_DIR, describe, readEndpoints, status, up } from '../devstack/stack';

async function main() {
  if (status().some((p) => p.running)) console.log(describe(readEndpoints(), DEFAULT_DIR));
  else await up();
  console.log('\nStop the stack with `npm run devstack -- down`.');
}

main().catch((err: Error) => {
  console.error(`demo: ${err.message}`);
  process.exit(1);
});
