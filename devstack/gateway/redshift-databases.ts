/**
 * The embedded Postgres (PGlite) databases behind the Redshift Data API: one per region, cluster
 * or workgroup, and database name, each in its own folder under the gateway's data directory, so
 * tables outlive a restart of the stack.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/** Which database a statement runs in. */
export interface DatabaseTarget {
  region: string;
  clusterIdentifier?: string;
  workgroupName?: string;
  database: string;
}

export class RedshiftDatabases {
  private readonly open = new Map<string, Promise<PGlite>>();

  /** @param dataDir where the databases live; each gets `<dataDir>/<region>/<cluster-x|workgroup-x>/<database>` */
  constructor(private readonly dataDir: string) {}

  /** The database for a target, created on first use. */
  get(target: DatabaseTarget): Promise<PGlite> {
    const owner = target.clusterIdentifier
      ? `cluster-${target.clusterIdentifier}`
      : `workgroup-${target.workgroupName}`;
    const dir = path.join(this.dataDir, ...[target.region, owner, target.database].map((p) => encodeURIComponent(p)));
    let db = this.open.get(dir);
    if (!db) {
      fs.mkdirSync(dir, { recursive: true });
      db = PGlite.create(dir);
      // A failed start (a corrupt folder, say) must not stay cached: the next statement tries again.
      db.catch(() => this.open.delete(dir));
      this.open.set(dir, db);
    }
    return db;
  }

  /** Closes every open database, so their folders are consistent on disk. */
  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map(async (db) => (await db.catch(() => undefined))?.close()));
  }
}
