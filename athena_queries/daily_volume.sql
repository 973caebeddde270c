-- name: daily_volume
-- answers: How many interactions and active users per UTC day? (Gaps and spikes show up here.)
SELECT
  date(from_unixtime("timestamp")) AS day,
  count(*) AS interactions,
  count(DISTINCT user_id) AS users
FROM "${database}"."${table}"
GROUP BY 1
ORDER BY 1
