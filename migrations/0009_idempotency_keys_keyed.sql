-- Idempotency records now keep the key and the request only as keyed hashes (HMAC). Records written before
-- hold the key as sent and an unkeyed request hash, which no request can match any more: they go (a
-- creation retried across this upgrade within its 24 hours runs again, as a new request).
DELETE FROM "idempotency_keys";
