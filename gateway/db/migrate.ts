import { Migrator, sql, type Kysely, type MigrationResultSet } from 'kysely';
import { migrations } from '../../migrations/index.ts';
import { GatewayError } from '../core/errors.ts';
import type { Database } from './tables.ts';

export interface MigrationReport {
  applied: string[];
}

/**
 * Bring the database to the latest migration. Kysely takes a lock while it migrates, so several
 * gateway processes starting together against one PostgreSQL apply each migration once.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationReport> {
  // Name the schema explicitly: Kysely otherwise finds its bookkeeping tables in any schema on
  // the server (another tenant's, another test file's) and skips creating them in ours.
  const schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(db))
    .rows[0]?.schema;
  const migrator = new Migrator({
    db,
    migrationTableSchema: schema,
    provider: { getMigrations: () => Promise.resolve({ ...migrations }) },
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error !== undefined) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const message =
      result.error instanceof Error ? result.error.message : JSON.stringify(result.error);
    throw new GatewayError('MIGRATION_FAILED', `migration ${failed} failed: ${message}`, {
      cause: result.error,
      retryable: false,
    });
  }
  return {
    applied: (result.results ?? [])
      .filter((r) => r.status === 'Success')
      .map((r) => r.migrationName),
  };
}
