import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import type { Page } from '../db/paginate.ts';
import { pageOfRows, rowById } from '../db/rows.ts';
import type { Status } from '../db/schema/columns.ts';
import { type AppRow, apps, type WebhookStatus } from '../db/schema/index.ts';
import { notFound } from '../errors.ts';
import { markAppGrantsChanged } from '../grants/changes.ts';
import type { Scope } from '../grants/scopes.ts';
import { newId } from '../lib/ids.ts';
import { hashToken, newWebhookSecret, randomToken, type SecretBox } from '../lib/secrets.ts';

interface AppDeps {
  db: Executor;
  secretBox: SecretBox;
}

export interface Fee {
  fixed: number;
  bps: number;
  currency: string;
}

export interface NewApp {
  name: string;
  webhookUrl: string;
  redirectUris: string[];
  scopes: Scope[];
  fee?: Fee | undefined;
}

export interface AppWithSecrets {
  app: AppRow;
  clientSecret: string;
  webhookSecret: string;
}

const feeColumns = (fee: Fee | null | undefined) =>
  fee === undefined
    ? {}
    : { feeFixed: fee?.fixed ?? null, feeBps: fee?.bps ?? null, feeCurrency: fee?.currency ?? null };

/**
 * Registers an app (an OAuth client) and returns its secrets: the only time they are readable. The webhook
 * URL has passed `checkWebhookUrl` (the route checks it beside the body's other fields).
 */
export async function registerApp(deps: AppDeps, input: NewApp): Promise<AppWithSecrets> {
  const clientSecret = randomToken('cls_');
  const webhookSecret = newWebhookSecret();
  const [app] = await deps.db
    .insert(apps)
    .values({
      id: newId('app'),
      name: input.name,
      webhookUrl: input.webhookUrl,
      redirectUris: input.redirectUris,
      scopes: input.scopes,
      clientId: randomToken('cli_', 16),
      clientSecretHash: hashToken(clientSecret),
      webhookSecretSealed: deps.secretBox.seal(webhookSecret),
      ...feeColumns(input.fee),
    })
    .returning();
  return { app: app!, clientSecret, webhookSecret };
}

/** A page of apps, newest first. */
export const listApps = (db: Executor, page: Page) => pageOfRows(db, apps, page);

/** The app with this id, or 404. */
export const getApp = (db: Executor, id: string): Promise<AppRow> => rowById(db, apps, id, 'app');

export interface AppPatch {
  name?: string | undefined;
  webhookUrl?: string | undefined;
  redirectUris?: string[] | undefined;
  scopes?: Scope[] | undefined;
  fee?: Fee | null | undefined;
  status?: Status | undefined;
  /** `enabled` lets a disabled endpoint receive webhooks again, its failure run forgotten. */
  webhookStatus?: WebhookStatus | undefined;
}

const webhookStatusColumns = (status: WebhookStatus | undefined, now: Date) =>
  status === undefined
    ? {}
    : status === 'enabled'
      ? {
          webhookStatus: status,
          webhookDisabledReason: null,
          webhookDisabledAt: null,
          webhookFailingSince: null,
        }
      : { webhookStatus: status, webhookDisabledReason: 'Disabled by the operator.', webhookDisabledAt: now };

/** Updates an app; a new webhook URL has passed `checkWebhookUrl`, as for `registerApp`. */
export async function updateApp(deps: AppDeps, id: string, patch: AppPatch): Promise<AppRow> {
  return deps.db.transaction(async (tx) => {
    const now = new Date();
    // drizzle leaves a field that is undefined out of the UPDATE: only what the patch names changes.
    const [row] = await tx
      .update(apps)
      .set({
        name: patch.name,
        webhookUrl: patch.webhookUrl,
        redirectUris: patch.redirectUris,
        scopes: patch.scopes,
        status: patch.status,
        ...feeColumns(patch.fee),
        ...webhookStatusColumns(patch.webhookStatus, now),
        updatedAt: now,
      })
      .where(eq(apps.id, id))
      .returning();
    if (!row) throw notFound('app');
    // A disabled app's triggers fire for nobody: the rules read grants of active apps only.
    if (patch.status !== undefined) await markAppGrantsChanged(tx, id);
    return row;
  });
}
