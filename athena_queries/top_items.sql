-- name: top_items
-- answers: Which 20 items have the most interactions, from how many users, and how many were orders?
-- An order is Segment's 'Order Completed', or 'Purchase' where the job renames it (the ecommerce preset).
SELECT
  item_id,
  count(*) AS interactions,
  count(DISTINCT user_id) AS users,
  sum(CASE WHEN event_type IN ('Order Completed', 'Purchase') THEN 1 ELSE 0 END) AS orders
FROM "${database}"."${table}"
GROUP BY item_id
ORDER BY interactions DESC, item_id
LIMIT 20
