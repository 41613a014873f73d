-- The date a task list row's relative deadline (12月15日前, 月底, 立行立改) was first read
-- against: the list's save date on the day weekbell first saw the row. Read again later, the
-- same words keep the same date, whenever the file is saved again.
CREATE TABLE row_first_seen (
    task_id TEXT PRIMARY KEY,
    -- YYYY-MM-DD
    anchor_day TEXT NOT NULL,
    seen_ms BIGINT NOT NULL
);
