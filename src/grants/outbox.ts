import type { Executor } from '../db/client.ts';
import { type DeliveryRow, deliveries } from '../db/schema/index.ts';
import { newId } from '../lib/ids.ts';

export interface OutboxMessage {
  appId: string;
  userId?: string | null;
  actionId?: string | null;
  type: string;
  data: Record<string, unknown>;
  now?: Date;
  /** When the event behind it was accepted: delivery latency is measured from then. */
  eventAcceptedAt?: Date;
}

/**
 * Records a webhook for an app in the deliveries outbox, inside the caller's transaction. The payload is the
 * final body (`{id, type, created_at, data}`) with `id` equal to the delivery id, which dispatch uses as the
 * stable `webhook-id`.
 */
export async function recordDelivery(db: Executor, message: OutboxMessage): Promise<DeliveryRow> {
  const id = newId('dlv');
  const createdAt = message.now ?? new Date();
  const [row] = await db
    .insert(deliveries)
    .values({
      id,
      appId: message.appId,
      userId: message.userId ?? null,
      actionId: message.actionId ?? null,
      eventAcceptedAt: message.eventAcceptedAt ?? null,
      type: message.type,
      payload: { id, type: message.type, created_at: createdAt.toISOString(), data: message.data },
      createdAt,
      updatedAt: createdAt,
    })
    .returning();
  return row!;
}
