import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import { liveCardsOf } from '../cards/cards.ts';
import { cardIdForApp, type PseudonymKey } from '../cards/pseudonyms.ts';
import type { Executor } from '../db/client.ts';
import { type Page, toPage } from '../db/paginate.ts';
import {
  type AppRow,
  apps,
  type ConsentSource,
  consentEvents,
  type GrantRow,
  grants,
  oauthTokenFamilies,
} from '../db/schema/index.ts';
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import { invalidFields, isUniqueViolation, notFound } from '../errors.ts';
import { newId } from '../lib/ids.ts';
import { nextGrantChangeSeq } from './changes.ts';
import { recordDelivery } from './outbox.ts';
import { SCOPES, type Scope } from './scopes.ts';

interface GrantDeps {
  db: Executor;
  config: PseudonymKey;
  /** Sends the grant's webhook once committed (without it, the relay does, a few seconds later). */
  dispatcher?: Pick<Dispatcher, 'deliveriesRecorded'>;
}

export interface GrantInput {
  userId: string;
  appId: string;
  scopes: readonly string[];
  /** `replace` sets exactly these scopes (the API); `add` unions them with what is granted (OAuth consent). */
  mode: 'replace' | 'add';
  source: ConsentSource;
}

export interface GrantResult {
  grant: GrantRow;
  app: AppRow;
  /** False when the grant already held exactly these scopes (nothing recorded). */
  changed: boolean;
  /** The `grant.created` delivery recorded, for a caller that enqueues it after its own commit. */
  deliveryId?: string | undefined;
}

const sortScopes = (scopes: Iterable<string>) =>
  [...new Set(scopes)].sort((a, b) => SCOPES.indexOf(a as Scope) - SCOPES.indexOf(b as Scope));

/** Refuses scopes the app did not register (the field is named `scopes` or `scope`, as the caller spoke). */
export function assertScopesRegistered(app: AppRow, scopes: readonly string[], field = 'scopes') {
  const unknown = scopes.filter((scope) => !app.scopes.includes(scope));
  if (unknown.length > 0) {
    throw invalidFields([
      {
        path: field,
        message: `not registered by this app: ${unknown.join(', ')} (it may ask for ${app.scopes.join(', ')})`,
      },
    ]);
  }
}

/** The app a user may grant to: it must exist and be active. */
export async function grantableApp(db: Executor, appId: string): Promise<AppRow> {
  const [app] = await db.select().from(apps).where(eq(apps.id, appId));
  if (app?.status !== 'active') throw notFound('app');
  return app;
}

async function cardsForApp(db: Executor, key: PseudonymKey, appId: string, userId: string) {
  const rows = await liveCardsOf(db, userId);
  return rows.map((card) => ({
    id: cardIdForApp(key, appId, card.id),
    last4: card.last4,
    scheme: card.scheme,
  }));
}

/**
 * Grants an app scopes on a user's behalf (creating the grant or changing its scopes), appends the consent
 * history and records a `grant.created` delivery, all in one transaction.
 */
export async function grantApp(deps: GrantDeps, input: GrantInput): Promise<GrantResult> {
  const app = await grantableApp(deps.db, input.appId);
  if (input.scopes.length === 0)
    throw invalidFields([{ path: 'scopes', message: 'must name at least one scope' }]);
  assertScopesRegistered(app, input.scopes);
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await deps.db.transaction(async (tx) => {
        const now = new Date();
        const [current] = await tx
          .select()
          .from(grants)
          .where(
            and(eq(grants.userId, input.userId), eq(grants.appId, input.appId), isNull(grants.revokedAt)),
          )
          .for('update');
        const scopes = sortScopes(
          input.mode === 'add' && current ? [...current.scopes, ...input.scopes] : input.scopes,
        );
        if (current && current.scopes.join(' ') === scopes.join(' '))
          return { grant: current, app, changed: false };

        const changeSeq = await nextGrantChangeSeq(tx);
        let grant: GrantRow;
        if (current) {
          [grant] = (await tx
            .update(grants)
            .set({ scopes, changeSeq, updatedAt: now })
            .where(eq(grants.id, current.id))
            .returning()) as [GrantRow];
        } else {
          [grant] = (await tx
            .insert(grants)
            .values({
              id: newId('grt'),
              userId: input.userId,
              appId: input.appId,
              scopes,
              changeSeq,
              grantedAt: now,
              createdAt: now,
              updatedAt: now,
            })
            .returning()) as [GrantRow];
        }
        await tx.insert(consentEvents).values({
          id: newId('cns'),
          userId: input.userId,
          appId: input.appId,
          grantId: grant.id,
          action: current ? 'scopes_changed' : 'granted',
          scopes,
          previousScopes: current?.scopes ?? null,
          source: input.source,
          createdAt: now,
        });
        const delivery = await recordDelivery(tx, {
          appId: input.appId,
          userId: input.userId,
          type: 'grant.created',
          now,
          data: {
            grant_id: grant.id,
            user_id: input.userId,
            scopes,
            ...(current ? { previous_scopes: current.scopes } : {}),
            granted_at: grant.grantedAt.toISOString(),
            cards: await cardsForApp(tx, deps.config, input.appId, input.userId),
          },
        });
        return { grant, app, changed: true, deliveryId: delivery.id };
      });
      if (result.deliveryId) deps.dispatcher?.deliveriesRecorded([result.deliveryId]);
      return { grant: result.grant, app: result.app, changed: result.changed, deliveryId: result.deliveryId };
    } catch (error) {
      // Two first consents racing: the loser retries and finds the winner's grant.
      if (attempt === 0 && isUniqueViolation(error)) continue;
      throw error;
    }
  }
}

/**
 * Revokes a user's grant to an app: from this commit its tokens for the user are refused (their families are
 * revoked and every token check reads the grant), the history records it and a `grant.revoked` delivery is
 * queued in the same transaction.
 */
export async function revokeGrant(
  deps: GrantDeps,
  input: { userId: string; appId: string; source: ConsentSource },
): Promise<GrantRow> {
  const { grant, deliveryId } = await deps.db.transaction(async (tx) => {
    const now = new Date();
    // A revocation of nothing throws below and rolls the counter back with it.
    const changeSeq = await nextGrantChangeSeq(tx);
    const [grant] = await tx
      .update(grants)
      .set({ revokedAt: now, changeSeq, updatedAt: now })
      .where(and(eq(grants.userId, input.userId), eq(grants.appId, input.appId), isNull(grants.revokedAt)))
      .returning();
    if (!grant) throw notFound('grant');
    await tx
      .update(oauthTokenFamilies)
      .set({ revokedAt: now, revokedReason: 'grant_revoked' })
      .where(and(eq(oauthTokenFamilies.grantId, grant.id), isNull(oauthTokenFamilies.revokedAt)));
    await tx.insert(consentEvents).values({
      id: newId('cns'),
      userId: input.userId,
      appId: input.appId,
      grantId: grant.id,
      action: 'revoked',
      scopes: [],
      previousScopes: grant.scopes,
      source: input.source,
      createdAt: now,
    });
    const delivery = await recordDelivery(tx, {
      appId: input.appId,
      userId: input.userId,
      type: 'grant.revoked',
      now,
      data: {
        grant_id: grant.id,
        user_id: input.userId,
        scopes: grant.scopes,
        granted_at: grant.grantedAt.toISOString(),
        revoked_at: now.toISOString(),
        cards: await cardsForApp(tx, deps.config, input.appId, input.userId),
      },
    });
    return { grant, deliveryId: delivery.id };
  });
  deps.dispatcher?.deliveriesRecorded([deliveryId]);
  return grant;
}

/** The live grant of `userId` to `appId`, if any: the check ingestion, dispatch and token checks make. */
export async function activeGrant(
  db: Executor,
  appId: string,
  userId: string,
): Promise<GrantRow | undefined> {
  const [row] = await db
    .select()
    .from(grants)
    .where(and(eq(grants.appId, appId), eq(grants.userId, userId), isNull(grants.revokedAt)));
  return row;
}

/** A page of a user's live grants with the app each is for, newest first; to one app if named. */
export async function listGrants(db: Executor, userId: string, page: Page, appId?: string) {
  const rows = await db
    .select({ grant: grants, app: apps })
    .from(grants)
    .innerJoin(apps, eq(apps.id, grants.appId))
    .where(
      and(
        eq(grants.userId, userId),
        isNull(grants.revokedAt),
        appId === undefined ? undefined : eq(grants.appId, appId),
        page.startingAfter ? lt(grants.id, page.startingAfter) : undefined,
      ),
    )
    .orderBy(desc(grants.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit);
}

/** A user's consent history (every grant, scope change and revocation), newest first; of one app if named. */
export async function consentHistory(db: Executor, userId: string, page: Page, appId?: string) {
  const rows = await db
    .select({ event: consentEvents, appName: apps.name })
    .from(consentEvents)
    .innerJoin(apps, eq(apps.id, consentEvents.appId))
    .where(
      and(
        eq(consentEvents.userId, userId),
        appId === undefined ? undefined : eq(consentEvents.appId, appId),
        page.startingAfter ? lt(consentEvents.id, page.startingAfter) : undefined,
      ),
    )
    .orderBy(desc(consentEvents.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit);
}
