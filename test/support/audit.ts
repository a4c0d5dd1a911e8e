/** Sealing in tests: until every entry is sealed (on a shared PostgreSQL server another test
 * file's open transaction may hold the watermark back for a moment). */
import { sealPending } from '../../gateway/core/audit/seal.service.ts';
import { auditStatus } from '../../gateway/core/audit/verify.service.ts';
import { eventually } from './delivery.ts';
import type { TestGateway } from './gateway.ts';

export async function sealEverything(gateway: Pick<TestGateway, 'database' | 'services'>) {
  const deps = { db: gateway.database.db, signer: gateway.services.pipeline.signer };
  await eventually(
    async () => {
      await sealPending(deps);
      return (await auditStatus(deps.db)).unsealed === 0;
    },
    'every log entry sealed',
    20_000,
    50,
  );
}
