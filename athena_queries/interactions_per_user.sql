-- name: interactions_per_user
-- answers: How are interactions distributed over users? Users and interactions per activity bucket.
WITH per_user AS (
  SELECT user_id, count(*) AS n
  FROM "${database}"."${table}"
  GROUP BY user_id
)
SELECT
  CASE
    WHEN n = 1 THEN '1'
    WHEN n < 5 THEN '2-4'
    WHEN n < 10 THEN '5-9'
    WHEN n < 50 THEN '10-49'
    ELSE '50+'
  END AS interactions_per_user,
  count(*) AS users,
  sum(n) AS interactions,
  min(n) AS min_n,
  max(n) AS max_n
FROM per_user
GROUP BY 1
ORDER BY min(n)
