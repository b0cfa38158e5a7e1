import { and, eq } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Executor } from '../db/client.ts';
import type { Page } from '../db/paginate.ts';
import { pageOfRows, rowById } from '../db/rows.ts';
import type { Status } from '../db/schema/columns.ts';
import { type ProcessorRow, processors } from '../db/schema/index.ts';
import { AppError, notFound } from '../errors.ts';
import { newId } from '../lib/ids.ts';
import { hashToken, newWebhookSecret, randomToken, type SecretBox } from '../lib/secrets.ts';

interface ProcessorDeps {
  db: Executor;
  secretBox: SecretBox;
}

export interface NewProcessor {
  name: string;
  stripeEndpointSecret?: string | undefined;
}

export interface ProcessorWithSecrets {
  processor: ProcessorRow;
  apiKey: string;
  signingSecret: string;
}

/** Registers a processor and returns its api key and signing secret: the only time they are readable. */
export async function createProcessor(
  deps: ProcessorDeps,
  input: NewProcessor,
): Promise<ProcessorWithSecrets> {
  const apiKey = randomToken('clk_');
  const signingSecret = newWebhookSecret();
  const [processor] = await deps.db
    .insert(processors)
    .values({
      id: newId('prc'),
      name: input.name,
      apiKeyHash: hashToken(apiKey),
      apiKeyLast4: apiKey.slice(-4),
      signingSecretSealed: deps.secretBox.seal(signingSecret),
      stripeEndpointSecretSealed: input.stripeEndpointSecret
        ? deps.secretBox.seal(input.stripeEndpointSecret)
        : null,
    })
    .returning();
  return { processor: processor!, apiKey, signingSecret };
}

/** A page of processors, newest first. */
export const listProcessors = (db: Executor, page: Page) => pageOfRows(db, processors, page);

/** The processor with this id, or 404. */
export const getProcessor = (db: Executor, id: string): Promise<ProcessorRow> =>
  rowById(db, processors, id, 'processor');

export interface ProcessorPatch {
  name?: string | undefined;
  status?: Status | undefined;
  /** A new Stripe endpoint secret, or null to remove it. */
  stripeEndpointSecret?: string | null | undefined;
}

export async function updateProcessor(
  deps: ProcessorDeps,
  id: string,
  patch: ProcessorPatch,
): Promise<ProcessorRow> {
  const secret = patch.stripeEndpointSecret;
  // drizzle leaves a field that is undefined out of the UPDATE: only what the patch names changes.
  const [row] = await deps.db
    .update(processors)
    .set({
      name: patch.name,
      status: patch.status,
      stripeEndpointSecretSealed:
        secret === undefined || secret === null ? secret : deps.secretBox.seal(secret),
      updatedAt: new Date(),
    })
    .where(eq(processors.id, id))
    .returning();
  if (!row) throw notFound('processor');
  return row;
}

/**
 * Issues a new signing secret. The previous one keeps verifying for `previousExpiresInSeconds`
 * (0 = refused at once, as after a leak), so a processor can roll without dropping events.
 */
export async function rotateSigningSecret(
  deps: ProcessorDeps,
  id: string,
  previousExpiresInSeconds: number,
): Promise<{ processor: ProcessorRow; signingSecret: string }> {
  const current = await getProcessor(deps.db, id);
  const signingSecret = newWebhookSecret();
  const keepPrevious = previousExpiresInSeconds > 0;
  const [processor] = await deps.db
    .update(processors)
    .set({
      signingSecretSealed: deps.secretBox.seal(signingSecret),
      previousSigningSecretSealed: keepPrevious ? current.signingSecretSealed : null,
      previousSigningSecretExpiresAt: keepPrevious
        ? new Date(Date.now() + previousExpiresInSeconds * 1000)
        : null,
      updatedAt: new Date(),
    })
    .where(and(eq(processors.id, id), eq(processors.signingSecretSealed, current.signingSecretSealed)))
    .returning();
  if (!processor) throw new AppError('conflict', 'The secret was rotated concurrently; retry.');
  return { processor, signingSecret };
}

/** The active processor holding this api key, or undefined. */
export async function findProcessorByApiKey(db: Executor, apiKey: string): Promise<ProcessorRow | undefined> {
  const [row] = await db
    .select()
    .from(processors)
    .where(and(eq(processors.apiKeyHash, hashToken(apiKey)), eq(processors.status, 'active')));
  return row;
}

/** The signing secrets a processor's signatures may use right now (current first). */
export function signingSecretsOf(row: ProcessorRow, secretBox: SecretBox, now = new Date()): string[] {
  const secrets = [secretBox.open(row.signingSecretSealed)];
  if (
    row.previousSigningSecretSealed &&
    row.previousSigningSecretExpiresAt &&
    row.previousSigningSecretExpiresAt > now
  ) {
    secrets.push(secretBox.open(row.previousSigningSecretSealed));
  }
  return secrets;
}

/** The URL a processor gives Stripe for its Issuing webhooks. */
export const stripeEndpointUrl = (config: Pick<Config, 'publicUrl'>, id: string) =>
  `${config.publicUrl}/v1/events/stripe/${id}`;
