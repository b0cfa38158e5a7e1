CREATE TABLE "card_tokens" (
	"processor_id" text NOT NULL,
	"token" text NOT NULL,
	"fingerprint" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "card_tokens_processor_id_token_pk" PRIMARY KEY("processor_id","token")
);
--> statement-breakpoint
CREATE TABLE "event_keys" (
	"processor_id" text NOT NULL,
	"external_id" text NOT NULL,
	"event_id" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"stored" boolean NOT NULL,
	CONSTRAINT "event_keys_processor_id_external_id_pk" PRIMARY KEY("processor_id","external_id")
);
--> statement-breakpoint
CREATE TABLE "unenrolled_event_counts" (
	"processor_id" text NOT NULL,
	"day" date NOT NULL,
	"count" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "unenrolled_event_counts_processor_id_day_pk" PRIMARY KEY("processor_id","day")
);
--> statement-breakpoint
ALTER TABLE "card_tokens" ADD CONSTRAINT "card_tokens_processor_id_processors_id_fk" FOREIGN KEY ("processor_id") REFERENCES "public"."processors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "event_keys_event_id_idx" ON "event_keys" USING btree ("event_id") WHERE "event_keys"."stored";