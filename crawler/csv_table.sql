-- A table over a folder of the job's CSV output, without a crawler: the same columns, types and SerDe the
-- crawler creates with the custom classifier (crawler/definition.py). Print it filled in (EVENT_VALUE
-- included when the job writes it): python -m crawler --ddl [--event-value] --s3-target s3://... ...
CREATE EXTERNAL TABLE IF NOT EXISTS `${database}`.`${table}` (
${columns}
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\\')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${location}'
TBLPROPERTIES (${properties})
