-- name: users_without_traits
-- answers: How many users with interactions have no Users row, and how many interactions are theirs?
-- tables: users
-- Only with a Users table (the job ran with --USER_TRAITS). A user with a row whose every trait is empty
-- has a row: this counts the users Personalize gets no metadata record for at all.
WITH known AS (
  SELECT DISTINCT user_id FROM "${database}"."${users_table}"
),
per_user AS (
  SELECT p.user_id, p.n, k.user_id IS NULL AS without_row
  FROM (SELECT user_id, count(*) AS n FROM "${database}"."${table}" GROUP BY user_id) p
  LEFT JOIN known k ON p.user_id = k.user_id
)
SELECT
  count(*) AS users,
  sum(CASE WHEN without_row THEN 0 ELSE 1 END) AS with_row,
  sum(CASE WHEN without_row THEN 1 ELSE 0 END) AS without_row,
  round(100 * CAST(sum(CASE WHEN without_row THEN 1 ELSE 0 END) AS double) / NULLIF(count(*), 0), 2)
    AS pct_without_row,
  sum(CASE WHEN without_row THEN n ELSE 0 END) AS interactions_without_row,
  round(100 * CAST(sum(CASE WHEN without_row THEN n ELSE 0 END) AS double) / NULLIF(sum(n), 0), 2)
    AS pct_interactions_without_row
FROM per_user
