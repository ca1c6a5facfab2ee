-- Grain state for Microsoft.Orleans.Persistence.AdoNet 10.4.2.
--
-- Writes are optimistic on version (the grain's ETag). The provider compares the version a
-- statement returns with the ETag it sent: a write that returns no row (or the same version) is a
-- conflict and surfaces as InconsistentStateException. So every statement below returns the new
-- version only when it really wrote, and nothing otherwise.
--
-- The provider finds rows by two 32-bit hashes; hashes collide, so every statement also compares
-- the full grain type and key strings.

create table orleansstorage
(
    grainidhash            integer     not null,
    grainidn0              bigint      not null,
    grainidn1              bigint      not null,
    graintypehash          integer     not null,
    graintypestring        text        not null,
    grainidextensionstring text        null,
    serviceid              text        not null,
    payloadbinary          bytea       null,
    modifiedon             timestamptz not null default now(),
    version                integer     not null
);

-- One row per grain, so two activations racing on a first write cannot both insert (the loser's
-- INSERT ... ON CONFLICT DO NOTHING returns no row). The strings are indexed through md5 because a
-- btree entry must stay under ~2.7 kB and string keys are unbounded; a NULL extension and an empty
-- one are different keys. Reads use the leading hash columns.
create unique index ux_orleansstorage_grain on orleansstorage
(
    grainidhash,
    graintypehash,
    grainidn0,
    grainidn1,
    serviceid,
    md5(graintypestring),
    md5(coalesce(grainidextensionstring, '')),
    (grainidextensionstring is null)
);

insert into orleansquery (querykey, querytext) values
(
    'ReadFromStorageKey',
    $q$
    select payloadbinary, version
    from orleansstorage
    where grainidhash = @GrainIdHash and graintypehash = @GrainTypeHash
      and grainidn0 = @GrainIdN0 and grainidn1 = @GrainIdN1
      and graintypestring = @GrainTypeString
      and grainidextensionstring is not distinct from @GrainIdExtensionString
      and serviceid = @ServiceId;
    $q$
),
(
    -- A NULL GrainStateVersion means the grain has never seen a stored row: insert version 1.
    -- Otherwise update only the row still at that version and return version + 1.
    'WriteToStorageKey',
    $q$
    with updated as
    (
        update orleansstorage
        set payloadbinary = @PayloadBinary, modifiedon = now(), version = version + 1
        where @GrainStateVersion is not null
          and grainidhash = @GrainIdHash and graintypehash = @GrainTypeHash
          and grainidn0 = @GrainIdN0 and grainidn1 = @GrainIdN1
          and graintypestring = @GrainTypeString
          and grainidextensionstring is not distinct from @GrainIdExtensionString
          and serviceid = @ServiceId
          and version = @GrainStateVersion
        returning version
    ),
    inserted as
    (
        insert into orleansstorage
            (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring,
             serviceid, payloadbinary, modifiedon, version)
        select @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString,
               @ServiceId, @PayloadBinary, now(), 1
        where @GrainStateVersion is null
        on conflict do nothing
        returning version
    )
    select version as newgrainstateversion from updated
    union all
    select version from inserted;
    $q$
),
(
    -- Clearing keeps the row (payload NULL, version + 1) so the next write stays versioned.
    'ClearStorageKey',
    $q$
    update orleansstorage
    set payloadbinary = null, modifiedon = now(), version = version + 1
    where grainidhash = @GrainIdHash and graintypehash = @GrainTypeHash
      and grainidn0 = @GrainIdN0 and grainidn1 = @GrainIdN1
      and graintypestring = @GrainTypeString
      and grainidextensionstring is not distinct from @GrainIdExtensionString
      and serviceid = @ServiceId
      and version = @GrainStateVersion
    returning version as newgrainstateversion;
    $q$
),
(
    -- Used with DeleteStateOnClear = true. The provider treats a returned value equal to the ETag
    -- it sent as a conflict, so a successful delete returns the old version + 1; a stale one
    -- returns no row.
    'DeleteStorageKey',
    $q$
    delete from orleansstorage
    where grainidhash = @GrainIdHash and graintypehash = @GrainTypeHash
      and grainidn0 = @GrainIdN0 and grainidn1 = @GrainIdN1
      and graintypestring = @GrainTypeString
      and grainidextensionstring is not distinct from @GrainIdExtensionString
      and serviceid = @ServiceId
      and version = @GrainStateVersion
    returning version + 1 as newgrainstateversion;
    $q$
)
on conflict (querykey) do update set querytext = excluded.querytext;
