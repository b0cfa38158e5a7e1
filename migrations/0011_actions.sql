-- The rules engine's outbox (actions) and what its limits count (trigger_counters, trigger_card_states,
-- trigger_user_days), the stateful misses explanations read (trigger_misses), and the grant change counter the
-- per-process grants cache compares, as trigger_changes does for triggers (see src/db/schema/actions.ts, grants.ts).
CREATE TABLE "actions" (
	"id" text PRIMARY KEY NOT NULL,
	"trigger_id" text NOT NULL,
	"trigger_version" integer NOT NULL,
	"app_id" text NOT NULL,
	"user_id" text NOT NULL,
	"card_id" text NOT NULL,
	"purchase_id" text NOT NULL,
	"purchase_received_at" timestamp with time zone NOT NULL,
	"purchase_amount" bigint NOT NULL,
	"purchase_currency" text NOT NULL,
	"type" text NOT NULL,
	"reward_amount" bigint,
	"reward_currency" text,
	"points" bigint,
	"budget_spend" bigint DEFAULT 0 NOT NULL,
	"budget_given_back" bigint DEFAULT 0 NOT NULL,
	"refunded_amount" bigint DEFAULT 0 NOT NULL,
	"local_day" date NOT NULL,
	"used_stamps" jsonb,
	"given_back_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "actions_purchase_trigger_key" UNIQUE("purchase_id","trigger_id")
);
--> statement-breakpoint
CREATE TABLE "trigger_card_states" (
	"trigger_id" text NOT NULL,
	"card_id" text NOT NULL,
	"fires" integer DEFAULT 0 NOT NULL,
	"stamps" jsonb DEFAULT '[]'::jsonb NOT NULL,
	CONSTRAINT "trigger_card_states_trigger_id_card_id_pk" PRIMARY KEY("trigger_id","card_id")
);
--> statement-breakpoint
CREATE TABLE "trigger_counters" (
	"trigger_id" text PRIMARY KEY NOT NULL,
	"redemptions" bigint DEFAULT 0 NOT NULL,
	"budget_spent" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "trigger_misses" (
	"event_id" text NOT NULL,
	"trigger_id" text NOT NULL,
	"trigger_version" integer NOT NULL,
	"app_id" text NOT NULL,
	"user_id" text NOT NULL,
	"reason" text NOT NULL,
	"progress_have" integer,
	"progress_need" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "trigger_misses_event_id_trigger_id_pk" PRIMARY KEY("event_id","trigger_id")
);
--> statement-breakpoint
CREATE TABLE "trigger_user_days" (
	"trigger_id" text NOT NULL,
	"user_id" text NOT NULL,
	"day" date NOT NULL,
	"fires" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "trigger_user_days_trigger_id_user_id_day_pk" PRIMARY KEY("trigger_id","user_id","day")
);
--> statement-breakpoint
CREATE TABLE "grant_changes" (
	"id" smallint PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	CONSTRAINT "grant_changes_one_row" CHECK ("grant_changes"."id" = 1)
);
--> statement-breakpoint
ALTER TABLE "grants" ADD COLUMN "change_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "trigger_card_states" ADD CONSTRAINT "trigger_card_states_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trigger_counters" ADD CONSTRAINT "trigger_counters_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trigger_user_days" ADD CONSTRAINT "trigger_user_days_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "actions_trigger_id_created_at_index" ON "actions" USING btree ("trigger_id","created_at");--> statement-breakpoint
CREATE INDEX "trigger_card_states_card_id_index" ON "trigger_card_states" USING btree ("card_id");--> statement-breakpoint
CREATE INDEX "grants_change_seq_index" ON "grants" USING btree ("change_seq");