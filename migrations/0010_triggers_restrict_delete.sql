ALTER TABLE "trigger_versions" DROP CONSTRAINT "trigger_versions_trigger_id_triggers_id_fk";
--> statement-breakpoint
ALTER TABLE "triggers" DROP CONSTRAINT "triggers_app_id_apps_id_fk";
--> statement-breakpoint
ALTER TABLE "trigger_versions" ADD CONSTRAINT "trigger_versions_trigger_id_triggers_id_fk" FOREIGN KEY ("trigger_id") REFERENCES "public"."triggers"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "triggers" ADD CONSTRAINT "triggers_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE restrict ON UPDATE no action;