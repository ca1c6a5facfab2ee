-- The instance list behind GET /api/instances on durable profiles (src/Orchestrator.Runs PostgresInstanceList).
--
-- One row per instance, upserted by the tenant's instance index after every change of the instance: one row is
-- written, never the whole list, and a page is one keyset query on (tenant, instance_id). snapshot holds the
-- instance's view as the API returns it (json text, read back as written); the columns beside it are what a list
-- filters on. An update whose revision is not newer than the row's changes nothing, so a late message never rolls
-- an instance back. Destroyed instances are deleted after their retention (Orchestrator:Instances:DestroyedRetention).
-- instance_id uses the "C" collation so that the list order, and with it the cursor, is plain byte order.
create table orchestrator_instances
(
    tenant         text             not null,
    instance_id    text collate "C" not null,
    region         text             not null,
    desired_state  text             not null,
    observed_state text             not null,
    revision       bigint           not null,
    updated_at     timestamptz      not null,
    snapshot       json             not null,

    constraint pk_orchestrator_instances primary key (tenant, instance_id)
);

-- Pruning finds a tenant's destroyed instances by age.
create index ix_orchestrator_instances_destroyed on orchestrator_instances (tenant, updated_at)
    where observed_state = 'destroyed' or desired_state = 'destroyed';
