/**
 * `judge-tenders`: every few seconds, judge the settlement and transport tenders whose terms
 * deadline has passed — commission to the terms most advantageous to the buyer, TenderResult to
 * the others. Thin over the trading core (SKIP LOCKED claims, compare-and-set).
 */
import { judgeDueTenders, type TradingDeps } from '../gateway/core/trading/trading.service.ts';
import type { JobDefinition } from './scheduler.ts';

export const JUDGE_TENDERS = 'judge-tenders';

export function judgeTendersJob(trading: TradingDeps): JobDefinition {
  return {
    name: JUDGE_TENDERS,
    schedule: '*/5 * * * * *',
    run: () => judgeDueTenders(trading),
  };
}
