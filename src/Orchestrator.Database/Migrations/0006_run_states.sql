-- Workflow run checkpoints (the "runs" grain storage, src/Orchestrator.Runs PostgresRunStateStore).
--
-- A run writes its checkpoint once per step transition. Orleans' ADO.NET storage spends one transaction
-- per write; this table is written in batches: one statement per batch of runs, each row still checked
-- against the version its writer last saw (optimistic, like the ETag of orleansstorage).
--
-- version counts the row's writes: 1 when inserted, + 1 per update. A checkpoint first written to
-- orleansstorage (before this table) is carried over by its next write, inserted here at that row's
-- version + 1; the old row is then never read again.
create table orchestrator_run_states
(
    run_key    text        not null,
    version    integer     not null,
    payload    bytea       not null,
    updated_at timestamptz not null default now(),

    constraint pk_orchestrator_run_states primary key (run_key),
    constraint ck_orchestrator_run_states_version check (version >= 1)
);
