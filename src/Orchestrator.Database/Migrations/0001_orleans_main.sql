-- The Orleans ADO.NET providers ship no SQL: at start each one reads its statements from this
-- table (SELECT QueryKey, QueryText FROM OrleansQuery) and executes them with named parameters.
-- Later migrations add their rows with INSERT ... ON CONFLICT (querykey) DO UPDATE so that a
-- query can be corrected by a new migration without touching an applied one.
create table orleansquery
(
    querykey  varchar(64) not null,
    querytext text        not null,

    constraint pk_orleansquery primary key (querykey)
);
