-- name: interactions_per_event_type
-- answers: How are interactions split across event types (count, share, distinct users and items)?
SELECT
  event_type,
  count(*) AS interactions,
  round(100 * CAST(count(*) AS double) / sum(count(*)) OVER (), 2) AS pct_of_interactions,
  count(DISTINCT user_id) AS users,
  count(DISTINCT item_id) AS items
FROM "${database}"."${table}"
GROUP BY event_type
ORDER BY interactions DESC, event_type
