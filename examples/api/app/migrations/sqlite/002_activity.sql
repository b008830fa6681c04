-- The activity feed (GET /v1/users/me/activity), written by the consumer
-- "activity" from the outbox's events; occurred_at is in Unix microseconds.
CREATE TABLE IF NOT EXISTS activity (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id     TEXT NOT NULL,
	event_id    TEXT NOT NULL,
	type        TEXT NOT NULL,
	data        TEXT NOT NULL,
	occurred_at INTEGER NOT NULL,
	UNIQUE (user_id, event_id)
);
CREATE INDEX IF NOT EXISTS activity_user ON activity (user_id, occurred_at);
