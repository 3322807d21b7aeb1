-- Run once by the postgres image when its data volume is new (docker-entrypoint-initdb.d), as POSTGRES_USER.
-- The image has already created POSTGRES_DB (finsync's database); this adds Dagster's, owned by the same role.
-- The name must match DAGSTER_PG_DB in docker-compose.yml (tests/deploy checks it).
CREATE DATABASE dagster;
