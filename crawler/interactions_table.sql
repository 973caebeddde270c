-- The interactions table without a crawler: the same columns, types and SerDe the crawler creates with
-- the custom classifier (crawler/definition.py). Run it in Athena after replacing the parameters,
-- or print it filled in: python -m crawler --ddl --s3-target s3://bucket/prefix/interactions/ ...
CREATE EXTERNAL TABLE IF NOT EXISTS `${database}`.`${table}` (
  `user_id` string,
  `item_id` string,
  `event_type` string,
  `timestamp` bigint
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\\')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${location}'
TBLPROPERTIES ('classification' = 'csv', 'skip.header.line.count' = '1', 'areColumnsQuoted' = 'false')
