-- The activity feed (GET /v1/users/me/activity), written by the consumer
-- "activity" from the outbox's events; occurred_at is in Unix microseconds.
CREATE TABLE IF NOT EXISTS activity (
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id     VARCHAR(40) NOT NULL,
	event_id    VARCHAR(40) NOT NULL,
	type        VARCHAR(64) NOT NULL,
	data        TEXT NOT NULL,
	occurred_at BIGINT NOT NULL,
	UNIQUE (user_id, event_id)
);
CREATE INDEX IF NOT EXISTS activity_user ON activity (user_id, occurred_at);
