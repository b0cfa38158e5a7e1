import { z } from '@hono/zod-openapi';
import type { ConsentEventRow } from '../db/schema/index.ts';
import { CONSENT_ACTIONS, CONSENT_SOURCES } from '../db/schema/index.ts';
import { SCOPES } from '../grants/scopes.ts';
import { listOf, Timestamp } from './schemas.ts';

// A user's consent history as the API shows it, to the user (grant routes) and to the operator (user routes).

export const Scope = z.enum(SCOPES);

const ConsentEvent = z
  .object({
    id: z.string().openapi({ example: 'cns_01jh…' }),
    object: z.literal('consent_event'),
    app_id: z.string(),
    app_name: z.string(),
    grant_id: z.string(),
    action: z.enum(CONSENT_ACTIONS),
    scopes: z
      .array(Scope)
      .openapi({ description: 'The scopes granted after this event (empty once revoked)' }),
    previous_scopes: z.array(Scope).nullable(),
    source: z.enum(CONSENT_SOURCES).openapi({
      description:
        '`api` (POST/DELETE /v1/me/grants), `oauth` (the consent page), `oauth_revoke` (the app revoked its refresh token), ' +
        '`account_page` (the cardholder disconnected the app on their account page)',
    }),
    created_at: Timestamp,
  })
  .openapi('ConsentEvent');

export const ConsentHistory = listOf(ConsentEvent, 'ConsentHistory');

export const presentConsent = (row: {
  event: ConsentEventRow;
  appName: string;
}): z.infer<typeof ConsentEvent> => ({
  id: row.event.id,
  object: 'consent_event',
  app_id: row.event.appId,
  app_name: row.appName,
  grant_id: row.event.grantId,
  action: row.event.action,
  scopes: row.event.scopes as z.infer<typeof Scope>[],
  previous_scopes: (row.event.previousScopes as z.infer<typeof Scope>[] | null) ?? null,
  source: row.event.source,
  created_at: row.event.createdAt.toISOString(),
});
