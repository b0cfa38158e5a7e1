-- Linking finds a follower's authorization by card (then MID, auth code or amount, within 30 days), and
-- nothing else searches events by card. The index that serves it is inserted into at random (one entry per
-- event, cards in no order), so once the current month's part outgrows Postgres' buffers every insert reads
-- and dirties a page of it (the batch bench after 5,000,000 events: most block reads, 5x the full-page
-- images of an empty table). It now holds authorizations only (the only rows the look-up wants) and keys
-- them by an 8-byte hash of the card id instead of the id itself: entries of 24 bytes instead of 40 to 48.
-- hashtextextended is the hash that hash partitioning relies on, so it is kept stable across releases; the
-- look-up compares the card ids themselves as well (a hash collision only costs a heap fetch).
DROP INDEX "events_card_id_occurred_at_idx";--> statement-breakpoint
CREATE INDEX "events_authorizations_by_card_idx" ON "events" USING btree (hashtextextended("card_id", 0), "occurred_at")
  WHERE "type" = 'authorization';
