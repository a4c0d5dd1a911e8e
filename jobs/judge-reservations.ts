/**
 * `judge-reservations`: every few seconds, judge the reservations whose bidding deadline has
 * passed (award the most suitable seller or close with NoAward), and lapse the awards whose
 * confirm-by passed unconfirmed (award the next eligible bid). Thin over the trading core, which
 * claims rows with SKIP LOCKED and moves them by compare-and-set: two runs never act twice.
 */
import {
  judgeDueReservations,
  lapseUnconfirmedDeals,
  type TradingDeps,
} from '../gateway/core/trading/trading.service.ts';
import type { DatabaseKind } from '../gateway/db/database.ts';
import type { JobDefinition } from './scheduler.ts';

export const JUDGE_RESERVATIONS = 'judge-reservations';

/**
 * Judging transactions side by side: two on PostgreSQL (its work then runs on two cores), one on
 * the embedded database (one connection: a second lane would only wait for the first).
 */
export function judgingLanes(database: DatabaseKind): number {
  return database === 'postgres' ? 2 : 1;
}

export function judgeReservationsJob(trading: TradingDeps, database: DatabaseKind): JobDefinition {
  return {
    name: JUDGE_RESERVATIONS,
    schedule: '*/5 * * * * *',
    async run() {
      const judged = await judgeDueReservations(trading, { lanes: judgingLanes(database) });
      const lapsed = await lapseUnconfirmedDeals(trading);
      return { ...judged, ...lapsed };
    },
  };
}
