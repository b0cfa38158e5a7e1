-- Canonical card events, partitioned by month of arrival (received_at: the server's clock, so every insert
-- lands in the current month's partition and a processor's odd occurred_at never needs a far partition).
-- drizzle-kit cannot express partitioning: src/db/partitioned/events.ts mirrors this table for queries.
CREATE TABLE "events" (
	"id" text NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"processor_id" text NOT NULL,
	"external_id" text NOT NULL,
	"type" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"local_at" timestamp NOT NULL,
	"utc_offset_minutes" smallint NOT NULL,
	"card_id" text NOT NULL,
	"user_id" text NOT NULL,
	"card_scheme" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"merchant_id" text,
	"mid" text NOT NULL,
	"merchant_name" text,
	"mcc" text,
	"merchant_city" text,
	"merchant_region" text,
	"merchant_postal_code" text,
	"merchant_country" text,
	"terminal_id" text,
	"auth_code" text,
	"rrn" text,
	"entry_mode" text,
	"original_external_id" text,
	"authorization_id" text,
	"authorization_received_at" timestamp with time zone,
	"cleared_amount" bigint DEFAULT 0 NOT NULL,
	"refunded_amount" bigint DEFAULT 0 NOT NULL,
	"reversed_amount" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "events_id_received_at_pk" PRIMARY KEY ("id", "received_at"),
	CONSTRAINT "events_type_check" CHECK ("type" IN ('authorization', 'clearing', 'refund', 'reversal')),
	CONSTRAINT "events_amount_check" CHECK ("amount" >= 0)
) PARTITION BY RANGE ("received_at");
--> statement-breakpoint
CREATE INDEX "events_card_id_occurred_at_idx" ON "events" USING btree ("card_id", "occurred_at");
--> statement-breakpoint
CREATE INDEX "events_occurred_at_idx" ON "events" USING brin ("occurred_at");
--> statement-breakpoint
-- Followers whose authorization has not arrived yet (small: rows leave it once linked).
CREATE INDEX "events_orphans_by_original_idx" ON "events" USING btree ("processor_id", "original_external_id")
	WHERE "authorization_id" IS NULL AND "type" <> 'authorization' AND "original_external_id" IS NOT NULL;
--> statement-breakpoint
CREATE INDEX "events_orphans_by_card_idx" ON "events" USING btree ("card_id", "mid")
	WHERE "authorization_id" IS NULL AND "type" <> 'authorization' AND "original_external_id" IS NULL;
--> statement-breakpoint
CREATE INDEX "events_authorization_id_idx" ON "events" USING btree ("authorization_id")
	WHERE "authorization_id" IS NOT NULL;
--> statement-breakpoint
-- Catches rows whose month has no partition yet (maintenance creates months ahead; this is the safety net).
CREATE TABLE "events_default" PARTITION OF "events" DEFAULT;
--> statement-breakpoint
-- Creates the monthly partitions from this month to `months_ahead` months later (UTC months). Rows that
-- fell into the default partition for such a month are moved into the new partition before it is attached.
CREATE OR REPLACE FUNCTION cardlink_ensure_event_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
	first_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
	month_start date;
	month_end date;
	partition_name text;
	created integer := 0;
BEGIN
	PERFORM pg_advisory_xact_lock(4242031338);
	FOR i IN 0..months_ahead LOOP
		month_start := (first_month + make_interval(months => i))::date;
		month_end := (month_start + interval '1 month')::date;
		partition_name := format('events_%s', to_char(month_start, 'YYYY_MM'));
		IF to_regclass(partition_name) IS NULL THEN
			EXECUTE format('CREATE TABLE %I (LIKE "events" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name);
			EXECUTE format(
				'WITH moved AS (DELETE FROM "events_default" WHERE "received_at" >= %L AND "received_at" < %L RETURNING *) '
				'INSERT INTO %I SELECT * FROM moved',
				month_start::text || ' 00:00:00+00', month_end::text || ' 00:00:00+00', partition_name);
			EXECUTE format('ALTER TABLE "events" ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
				partition_name, month_start::text || ' 00:00:00+00', month_end::text || ' 00:00:00+00');
			created := created + 1;
		END IF;
	END LOOP;
	RETURN created;
END
$fn$;
--> statement-breakpoint
SELECT cardlink_ensure_event_partitions(2);
