/**
 * The folder of record-histories' own local stack, put into GLUELINE_STACK_DIR as this module loads: the test
 * helpers read that variable once, when they are first imported, so scripts/record-histories.ts imports this
 * module before any of them.
 */
import path from 'node:path';
import { repoRoot } from '../devstack/paths';

/** `.devstack/record-histories`: beside any stack of `npm run devstack` or `npm test`, on free ports. */
export const recordStackDir = path.join(repoRoot, '.devstack', 'record-histories');

process.env.GLUELINE_STACK_DIR = recordStackDir;
