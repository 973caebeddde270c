-- name: item_metadata_coverage
-- answers: What share of interactions, and of the items they name, have an Items row? (Cold items have none.)
-- tables: items
-- Only with an Items table (the job ran with --ITEM_PROPERTIES). An item with a row whose every property is
-- empty still counts as having one: the row is what Personalize imports.
WITH known AS (
  SELECT DISTINCT item_id FROM "${database}"."${items_table}"
),
joined AS (
  SELECT i.item_id, k.item_id IS NOT NULL AS has_row
  FROM "${database}"."${table}" i
  LEFT JOIN known k ON i.item_id = k.item_id
),
per_item AS (
  SELECT item_id, max(CASE WHEN has_row THEN 1 ELSE 0 END) AS has_row
  FROM joined
  GROUP BY item_id
),
totals AS (
  SELECT count(*) AS interactions, coalesce(sum(CASE WHEN has_row THEN 1 ELSE 0 END), 0) AS with_item_row
  FROM joined
),
per_item_totals AS (
  SELECT count(*) AS items, coalesce(sum(has_row), 0) AS items_with_row FROM per_item
)
SELECT
  interactions,
  with_item_row,
  round(100 * CAST(with_item_row AS double) / NULLIF(interactions, 0), 2) AS pct_with_item_row,
  items,
  items_with_row,
  round(100 * CAST(items_with_row AS double) / NULLIF(items, 0), 2) AS pct_items_with_row,
  -- Items rows no interaction names: cold-start items, recommendable only through their metadata.
  (SELECT count(*) FROM known) - items_with_row AS item_rows_without_interactions
FROM totals CROSS JOIN per_item_totals
