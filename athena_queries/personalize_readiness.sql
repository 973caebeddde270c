-- name: personalize_readiness
-- answers: Is this enough to train? Personalize needs >= 1000 interactions and >= 25 users with >= 2 each.
WITH per_user AS (
  SELECT user_id, count(*) AS n
  FROM "${database}"."${table}"
  GROUP BY user_id
),
totals AS (
  SELECT
    count(*) AS interactions,
    count(DISTINCT user_id) AS users,
    count(DISTINCT item_id) AS items,
    min("timestamp") AS first_ts,
    max("timestamp") AS last_ts
  FROM "${database}"."${table}"
),
active AS (
  SELECT count(*) AS users_with_2_plus FROM per_user WHERE n >= 2
)
SELECT
  interactions,
  users,
  users_with_2_plus,
  items,
  -- ISO 8601 in UTC; date_format (not to_iso8601 / format_datetime) is the form DuckDB also runs.
  date_format(from_unixtime(first_ts), '%Y-%m-%dT%H:%i:%sZ') AS first_interaction,
  date_format(from_unixtime(last_ts), '%Y-%m-%dT%H:%i:%sZ') AS last_interaction,
  round(CAST(last_ts - first_ts AS double) / 86400, 1) AS span_days,
  interactions >= 1000 AS enough_interactions,
  users_with_2_plus >= 25 AS enough_active_users,
  interactions >= 1000 AND users_with_2_plus >= 25 AS ready
FROM totals CROSS JOIN active
