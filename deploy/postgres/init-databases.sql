-- Run once by the postgres image when its volume is first initialised
-- (/docker-entrypoint-initdb.d, as POSTGRES_USER, connected to POSTGRES_DB = commerce).
-- One database per owner of the data, all owned by POSTGRES_USER:
--   commerce  the reference commerce API (COMMERCE_DATABASE_URL)
--   ledger    the action servers' ledger (ACTION_LEDGER_URL)
--   events    Rasa's SQL event broker (EVENT_BROKER_DB, deploy/endpoints.production.yml)
CREATE DATABASE ledger;
CREATE DATABASE events;
