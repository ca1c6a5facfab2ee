-- Reminders for Microsoft.Orleans.Reminders.AdoNet 10.4.2.
--
-- GrainHash, BeginHash and EndHash arrive as the uint ring hashes cast to int; the provider picks
-- ReadRangeRows1Key when (int)begin < (int)end and ReadRangeRows2Key (a range that wraps) otherwise,
-- so plain signed comparisons are right here.

create table orleansreminderstable
(
    serviceid    text        not null,
    grainid      text        not null,
    remindername text        not null,
    starttime    timestamptz not null,
    -- Milliseconds; the provider binds an int or a bigint and reads it back as Int64.
    period       bigint      not null,
    grainhash    integer     not null,
    version      integer     not null,

    constraint pk_orleansreminderstable primary key (serviceid, grainid, remindername)
);

create index ix_orleansreminderstable_grainhash on orleansreminderstable (serviceid, grainhash);

insert into orleansquery (querykey, querytext) values
(
    -- Returns the row's new version (the reminder's ETag): 0 when created, + 1 on each change.
    'UpsertReminderRowKey',
    $q$
    insert into orleansreminderstable as r
        (serviceid, grainid, remindername, starttime, period, grainhash, version)
    values (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
    on conflict (serviceid, grainid, remindername) do update
        set starttime = excluded.starttime,
            period = excluded.period,
            grainhash = excluded.grainhash,
            version = r.version + 1
    returning r.version;
    $q$
),
(
    'ReadReminderRowsKey',
    $q$
    select grainid, remindername, starttime, period, version
    from orleansreminderstable
    where serviceid = @ServiceId and grainid = @GrainId;
    $q$
),
(
    'ReadReminderRowKey',
    $q$
    select grainid, remindername, starttime, period, version
    from orleansreminderstable
    where serviceid = @ServiceId and grainid = @GrainId and remindername = @ReminderName;
    $q$
),
(
    'ReadRangeRows1Key',
    $q$
    select grainid, remindername, starttime, period, version
    from orleansreminderstable
    where serviceid = @ServiceId and grainhash > @BeginHash and grainhash <= @EndHash;
    $q$
),
(
    'ReadRangeRows2Key',
    $q$
    select grainid, remindername, starttime, period, version
    from orleansreminderstable
    where serviceid = @ServiceId and (grainhash > @BeginHash or grainhash <= @EndHash);
    $q$
),
(
    -- Optimistic on the reminder's ETag; the provider reads one boolean column.
    'DeleteReminderRowKey',
    $q$
    with deleted as
    (
        delete from orleansreminderstable
        where serviceid = @ServiceId and grainid = @GrainId and remindername = @ReminderName
          and version = @Version
        returning 1
    )
    select exists (select 1 from deleted) as deleted;
    $q$
),
(
    'DeleteReminderRowsKey',
    $q$
    delete from orleansreminderstable where serviceid = @ServiceId;
    $q$
)
on conflict (querykey) do update set querytext = excluded.querytext;
