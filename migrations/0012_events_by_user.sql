-- A cardholder's activity (GET /v1/me/activity) lists their events newest first, and nothing else searched events
-- by user. Like the authorizations-by-card index (0007) this one is inserted into at random (users in no order),
-- so it keys by an 8-byte hash of the user id (the look-up compares the ids themselves too) to keep entries at
-- 24 bytes; received_at orders the page and lets a cursor's page skip the months after it.
CREATE INDEX "events_by_user_idx" ON "events" USING btree (hashtextextended("user_id", 0), "received_at");
