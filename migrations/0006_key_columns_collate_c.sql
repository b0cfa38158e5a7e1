-- Key columns that hold identifiers, hashes and codes compare byte-wise ("C"): the same equality as before
-- (every collation here is deterministic), but B-tree comparisons skip the locale machinery (varstr_cmp),
-- which was ~10% of Postgres' CPU in the batch ingest benchmark. Only columns whose every comparison is with
-- default-collation values are changed, so "C" wins each comparison and their indexes stay usable.
-- A collation change of text is binary-compatible: no table rewrite, only the indexes are rebuilt.
ALTER TABLE "event_keys"
  ALTER COLUMN "processor_id" TYPE text COLLATE "C",
  ALTER COLUMN "external_id" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "cards" ALTER COLUMN "fingerprint" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "card_tokens" ALTER COLUMN "token" TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "merchant_mids" ALTER COLUMN "mid" TYPE text COLLATE "C";
