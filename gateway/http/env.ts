import type { AuthenticatedPartner } from '../core/partners/partners.service.ts';

/** What middleware puts on the Hono context for the handlers after it. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set by the partner authentication middleware on /v1 routes. */
    caller: AuthenticatedPartner;
  };
}
