import { relations, sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
} from 'drizzle-orm/pg-core';
import {
  TRIGGER_STATUSES,
  type TriggerAction,
  type TriggerLimits,
  type TriggerMatch,
} from '../../rules/dsl.ts';
import { apps } from './apps.ts';
import { timestamps, timestamptz } from './columns.ts';

/** An app's trigger as it stands now: `version` names its latest row in `trigger_versions`. */
export const triggers = pgTable(
  'triggers',
  {
    id: text().primaryKey(),
    appId: text()
      .notNull()
      .references(() => apps.id, { onDelete: 'restrict' }),
    name: text().notNull(),
    status: text({ enum: TRIGGER_STATUSES }).notNull().default('active'),
    version: integer().notNull(),
    match: jsonb().$type<TriggerMatch>().notNull(),
    limits: jsonb().$type<TriggerLimits>().notNull(),
    action: jsonb().$type<TriggerAction>().notNull(),
    /** The `trigger_changes.seq` of this trigger's latest change: a reloader asks for `change_seq > seen`. */
    changeSeq: bigint({ mode: 'number' }).notNull(),
    ...timestamps,
    archivedAt: timestamptz(),
  },
  (t) => [index().on(t.appId, t.id), index().on(t.changeSeq)],
);

/**
 * Every definition a trigger ever had, one row per change (create, patch, pause, archive), so an action can
 * name the exact version it fired under and show it later. Written in the transaction of the change.
 */
export const triggerVersions = pgTable(
  'trigger_versions',
  {
    triggerId: text()
      .notNull()
      .references(() => triggers.id, { onDelete: 'restrict' }),
    version: integer().notNull(),
    name: text().notNull(),
    status: text({ enum: TRIGGER_STATUSES }).notNull(),
    match: jsonb().$type<TriggerMatch>().notNull(),
    limits: jsonb().$type<TriggerLimits>().notNull(),
    action: jsonb().$type<TriggerAction>().notNull(),
    createdAt: timestamptz().notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.triggerId, t.version] })],
);

/**
 * One row (id 1) counting every trigger change of every app, bumped in the change's own transaction. Unlike a
 * sequence it is transactional: a value is seen only once its change committed, and the row lock orders the
 * changes by commit, so a process that has seen `seq = N` committed has seen every change up to N. A reloader
 * that compares its last seen `seq` with this row catches a NOTIFY it missed (reconnect, dropped listener).
 */
export const triggerChanges = pgTable(
  'trigger_changes',
  {
    id: smallint().primaryKey(),
    seq: bigint({ mode: 'number' }).notNull(),
  },
  (t) => [check('trigger_changes_one_row', sql`${t.id} = 1`)],
);

export const triggersRelations = relations(triggers, ({ many }) => ({ versions: many(triggerVersions) }));
export const triggerVersionsRelations = relations(triggerVersions, ({ one }) => ({
  trigger: one(triggers, { fields: [triggerVersions.triggerId], references: [triggers.id] }),
}));

export type TriggerRow = typeof triggers.$inferSelect;
export type TriggerVersionRow = typeof triggerVersions.$inferSelect;
