-- Membership for Microsoft.Orleans.Clustering.AdoNet 10.4.2.
--
-- One version row per deployment (cluster id). Every membership insert or update must present the
-- version it read; the statement succeeds only if that version is still current and bumps it in the
-- same statement, so two silos acting on the same stale view cannot both win. The provider reads a
-- single boolean column back from those statements (true = written).
--
-- SiloStatus values used below (Orleans.Runtime.SiloStatus): 3 = Active, 6 = Dead.

create table orleansmembershipversiontable
(
    deploymentid varchar(150) not null,
    timestamp    timestamptz  not null default now(),
    version      integer      not null default 0,

    constraint pk_orleansmembershipversiontable primary key (deploymentid)
);

create table orleansmembershiptable
(
    deploymentid varchar(150) not null,
    address      varchar(45)  not null,
    port         integer      not null,
    generation   integer      not null,
    siloname     varchar(150) not null,
    hostname     varchar(150) not null,
    status       integer      not null,
    -- The provider reads ProxyPort with Convert.ToInt32, which fails on NULL; silos without a
    -- gateway write 0.
    proxyport    integer      not null default 0,
    suspecttimes text         null,
    starttime    timestamptz  not null,
    iamalivetime timestamptz  not null,

    constraint pk_orleansmembershiptable primary key (deploymentid, address, port, generation),
    constraint fk_orleansmembershiptable_version foreign key (deploymentid)
        references orleansmembershipversiontable (deploymentid)
);

insert into orleansquery (querykey, querytext) values
(
    'InsertMembershipVersionKey',
    $q$
    with inserted as
    (
        insert into orleansmembershipversiontable (deploymentid)
        values (@DeploymentId)
        on conflict (deploymentid) do nothing
        returning 1
    )
    select exists (select 1 from inserted) as inserted;
    $q$
),
(
    -- The version row is locked first (FOR UPDATE) so that a concurrent writer holding the same
    -- version waits, then re-checks the version and finds it moved on. The version is bumped only
    -- if the member row was really inserted, so a duplicate insert changes nothing.
    'InsertMembershipKey',
    $q$
    with current_version as
    (
        select deploymentid
        from orleansmembershipversiontable
        where deploymentid = @DeploymentId and version = @Version
        for update
    ),
    inserted as
    (
        insert into orleansmembershiptable
            (deploymentid, address, port, generation, siloname, hostname, status, proxyport, starttime, iamalivetime)
        select deploymentid, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
        from current_version
        on conflict (deploymentid, address, port, generation) do nothing
        returning deploymentid
    ),
    bumped as
    (
        update orleansmembershipversiontable v
        set version = v.version + 1, timestamp = now()
        from inserted
        where v.deploymentid = inserted.deploymentid
        returning 1
    )
    select exists (select 1 from bumped) as succeeded;
    $q$
),
(
    -- Same shape as InsertMembershipKey. IAmAliveTime never moves backwards: heartbeats
    -- (UpdateIAmAlivetimeKey) race with these versioned updates.
    'UpdateMembershipKey',
    $q$
    with current_version as
    (
        select deploymentid
        from orleansmembershipversiontable
        where deploymentid = @DeploymentId and version = @Version
        for update
    ),
    updated as
    (
        update orleansmembershiptable m
        set status = @Status,
            suspecttimes = @SuspectTimes,
            iamalivetime = greatest(m.iamalivetime, @IAmAliveTime)
        from current_version
        where m.deploymentid = current_version.deploymentid
          and m.address = @Address and m.port = @Port and m.generation = @Generation
        returning m.deploymentid
    ),
    bumped as
    (
        update orleansmembershipversiontable v
        set version = v.version + 1, timestamp = now()
        from updated
        where v.deploymentid = updated.deploymentid
        returning 1
    )
    select exists (select 1 from bumped) as succeeded;
    $q$
),
(
    -- Heartbeat: unversioned by design (the provider ignores the outcome).
    'UpdateIAmAlivetimeKey',
    $q$
    update orleansmembershiptable
    set iamalivetime = greatest(iamalivetime, @IAmAliveTime)
    where deploymentid = @DeploymentId
      and address = @Address and port = @Port and generation = @Generation;
    $q$
),
(
    -- The outer join returns the version row even when the silo has no member row yet; the
    -- provider treats a NULL StartTime as "no entry" and still takes the version from that row.
    'MembershipReadRowKey',
    $q$
    select v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status,
           m.proxyport, m.suspecttimes, m.starttime, m.iamalivetime, v.version
    from orleansmembershipversiontable v
    left join orleansmembershiptable m
        on m.deploymentid = v.deploymentid
       and m.address = @Address and m.port = @Port and m.generation = @Generation
    where v.deploymentid = @DeploymentId;
    $q$
),
(
    'MembershipReadAllKey',
    $q$
    select v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status,
           m.proxyport, m.suspecttimes, m.starttime, m.iamalivetime, v.version
    from orleansmembershipversiontable v
    left join orleansmembershiptable m on m.deploymentid = v.deploymentid
    where v.deploymentid = @DeploymentId;
    $q$
),
(
    'DeleteMembershipTableEntriesKey',
    $q$
    with deleted_members as
    (
        delete from orleansmembershiptable where deploymentid = @DeploymentId
    )
    delete from orleansmembershipversiontable where deploymentid = @DeploymentId;
    $q$
),
(
    'GatewaysQueryKey',
    $q$
    select address, proxyport, generation
    from orleansmembershiptable
    where deploymentid = @DeploymentId and status = @Status and proxyport > 0;
    $q$
),
(
    -- Fallback the provider uses only when CleanupDefunctSiloEntryKey is missing (it still
    -- requires the key to exist). Only dead silos are removed, never live or joining ones.
    'CleanupDefunctSiloEntriesKey',
    $q$
    delete from orleansmembershiptable
    where deploymentid = @DeploymentId
      and status = 6
      and iamalivetime < @IAmAliveTime
      and starttime < @IAmAliveTime
      and coalesce(suspecttimes, '') = '';
    $q$
),
(
    -- The provider decides in .NET which dead rows are old enough and deletes each one only if it
    -- still holds exactly the values it read, so a row that changed meanwhile survives.
    'CleanupDefunctSiloEntryKey',
    $q$
    delete from orleansmembershiptable
    where deploymentid = @DeploymentId
      and address = @Address and port = @Port and generation = @Generation
      and status = 6
      and starttime = @StartTime
      and iamalivetime = @IAmAliveTime
      and coalesce(suspecttimes, '') = coalesce(@SuspectTimes, '');
    $q$
)
on conflict (querykey) do update set querytext = excluded.querytext;
