-- Dispatch and the rewards ledger: actions gain a status (the relay re-enqueues the queued ones), purchase_changes
-- marks purchases whose rewards must be settled again, the double-entry ledger (accounts, entries, rewards, payouts),
-- the effects (receipts, coupons, social posts), every delivery attempt, and each app endpoint's state (see src/db/schema).
CREATE TABLE "purchase_changes" (
	"purchase_id" text PRIMARY KEY NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "delivery_attempts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "delivery_attempts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"delivery_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"status_code" integer,
	"latency_ms" integer NOT NULL,
	"error" text,
	"response_excerpt" text
);
--> statement-breakpoint
CREATE TABLE "coupons" (
	"id" text PRIMARY KEY NOT NULL,
	"action_id" text NOT NULL,
	"app_id" text NOT NULL,
	"user_id" text NOT NULL,
	"code" text NOT NULL,
	"value_amount" bigint,
	"value_currency" text,
	"expires_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "coupons_actionId_unique" UNIQUE("action_id"),
	CONSTRAINT "coupons_code_unique" UNIQUE("code")
);
--> statement-breakpoint
CREATE TABLE "receipts" (
	"id" text PRIMARY KEY NOT NULL,
	"action_id" text NOT NULL,
	"app_id" text NOT NULL,
	"user_id" text NOT NULL,
	"card_id" text NOT NULL,
	"event_id" text NOT NULL,
	"merchant" jsonb NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"local_time" text NOT NULL,
	"time_zone" text,
	"card_last4" text NOT NULL,
	"card_scheme" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "receipts_actionId_unique" UNIQUE("action_id")
);
--> statement-breakpoint
CREATE TABLE "social_posts" (
	"id" text PRIMARY KEY NOT NULL,
	"action_id" text NOT NULL,
	"app_id" text NOT NULL,
	"user_id" text NOT NULL,
	"text" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "social_posts_actionId_unique" UNIQUE("action_id")
);
--> statement-breakpoint
CREATE TABLE "ledger_accounts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ledger_accounts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"app_id" text NOT NULL,
	"user_id" text,
	"kind" text NOT NULL,
	"unit" text NOT NULL,
	"bucket" text NOT NULL,
	"balance" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "ledger_accounts_key" UNIQUE NULLS NOT DISTINCT("app_id","user_id","kind","unit","bucket")
);
--> statement-breakpoint
CREATE TABLE "ledger_entries" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ledger_entries_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"app_id" text NOT NULL,
	"type" text NOT NULL,
	"debit_account_id" bigint NOT NULL,
	"credit_account_id" bigint NOT NULL,
	"amount" bigint NOT NULL,
	"action_id" text,
	"payout_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ledger_entries_amount_positive" CHECK ("ledger_entries"."amount" > 0),
	CONSTRAINT "ledger_entries_two_accounts" CHECK ("ledger_entries"."debit_account_id" <> "ledger_entries"."credit_account_id")
);
--> statement-breakpoint
CREATE TABLE "payouts" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"user_id" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rewards" (
	"action_id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"unit" text NOT NULL,
	"amount" bigint NOT NULL,
	"purchase_id" text NOT NULL,
	"purchase_received_at" timestamp with time zone NOT NULL,
	"available_after_days" integer DEFAULT 0 NOT NULL,
	"state" text NOT NULL,
	"pending" bigint DEFAULT 0 NOT NULL,
	"available" bigint DEFAULT 0 NOT NULL,
	"reversed" bigint DEFAULT 0 NOT NULL,
	"expired" bigint DEFAULT 0 NOT NULL,
	"cleared_at" timestamp with time zone,
	"next_check_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "status" text DEFAULT 'queued' NOT NULL;--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "done_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "webhook_status" text DEFAULT 'enabled' NOT NULL;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "webhook_disabled_reason" text;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "webhook_disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "webhook_failing_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "event_accepted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "completed_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "delivery_attempts_delivery_id_attempt_index" ON "delivery_attempts" USING btree ("delivery_id","attempt");--> statement-breakpoint
CREATE INDEX "coupons_user_id_id_index" ON "coupons" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "coupons_app_id_id_index" ON "coupons" USING btree ("app_id","id");--> statement-breakpoint
CREATE INDEX "receipts_user_id_id_index" ON "receipts" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "receipts_app_id_id_index" ON "receipts" USING btree ("app_id","id");--> statement-breakpoint
CREATE INDEX "social_posts_app_id_id_index" ON "social_posts" USING btree ("app_id","id");--> statement-breakpoint
CREATE INDEX "ledger_entries_action_id_index" ON "ledger_entries" USING btree ("action_id");--> statement-breakpoint
CREATE INDEX "ledger_entries_app_id_type_created_at_index" ON "ledger_entries" USING btree ("app_id","type","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_entries_fee_once" ON "ledger_entries" USING btree ("action_id") WHERE "ledger_entries"."type" = 'fee';--> statement-breakpoint
CREATE INDEX "payouts_app_id_id_index" ON "payouts" USING btree ("app_id","id");--> statement-breakpoint
CREATE INDEX "payouts_user_id_id_index" ON "payouts" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "rewards_purchase_id_index" ON "rewards" USING btree ("purchase_id");--> statement-breakpoint
CREATE INDEX "rewards_next_check_at_index" ON "rewards" USING btree ("next_check_at") WHERE "rewards"."next_check_at" is not null;--> statement-breakpoint
CREATE INDEX "rewards_user_id_app_id_index" ON "rewards" USING btree ("user_id","app_id");--> statement-breakpoint
CREATE INDEX "actions_queued_index" ON "actions" USING btree ("created_at") WHERE "actions"."status" = 'queued';--> statement-breakpoint
CREATE INDEX "deliveries_app_id_created_at_index" ON "deliveries" USING btree ("app_id","created_at");