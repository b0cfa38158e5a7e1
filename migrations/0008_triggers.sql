-- Triggers, every version of each (actions name the one they fired under), and one transactional counter of
-- trigger changes that hot reload compares to catch a missed NOTIFY (see src/db/schema/triggers.ts).
CREATE TABLE "trigger_changes" (
	"id" smallint PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	CONSTRAINT "trigger_changes_one_row" CHECK ("trigger_changes"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "trigger_versions" (
	"trigger_id" text NOT NULL,
	"version" integer NOT NULL,
	"name" text NOT NULL,
	"status" text NOT NULL,
	"match" jsonb NOT NULL,
	"limits" jsonb NOT NULL,
	"action" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "trigger_versions_trigger_id_version_pk" PRIMARY KEY("trigger_id","version")
);
--> statement-breakpoint
CREATE TABLE "triggers" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"version" integer NOT NULL,
	"match" jsonb NOT NULL,
	"limits" jsonb NOT NULL,
	"action" jsonb NOT NULL,
	"change_seq" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "trigger_versions" ADD CONSTRAINT "trigger_versions_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "triggers" ADD CONSTRAINT "triggers_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "triggers_app_id_id_index" ON "triggers" USING btree ("app_id","id");--> statement-breakpoint
CREATE INDEX "triggers_change_seq_index" ON "triggers" USING btree ("change_seq");