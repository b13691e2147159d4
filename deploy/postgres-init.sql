-- Run once by the postgres image when its volume is new (see
-- docker-compose.yml). Gatehouse connects as `gatehouse`: a role that owns
-- its one database and can create no other, and is no superuser. The
-- tests keep using the `postgres` superuser, which creates a database per
-- test.
CREATE ROLE gatehouse LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE gatehouse OWNER gatehouse;
