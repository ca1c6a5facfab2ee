-- Workflow runs: the append-only event log of every run and the index behind run listing
-- (src/Orchestrator.Runs).

-- One row per RunEvent. The primary key makes a re-append after a crash a no-op
-- (insert ... on conflict do nothing) and serves both reads by run (sequence > n order by sequence)
-- and max(sequence).
-- data is json, not jsonb: it is stored and returned as the exact text the grain wrote (jsonb would
-- re-format it), and nothing queries inside it.
create table orchestrator_run_events
(
    run_key  text        not null,
    sequence bigint      not null,
    at       timestamptz not null,
    kind     text        not null,
    step_id  text        null,
    attempt  integer     not null,
    data     json        not null,

    constraint pk_orchestrator_run_events primary key (run_key, sequence),
    constraint ck_orchestrator_run_events_sequence check (sequence >= 1)
);

-- One row per run, upserted on every status change (the newest updated_at wins).
-- run_id uses the "C" collation so that the list order (created_at desc, run_id desc), and with it
-- the keyset cursor, is plain byte order whatever the database's locale.
create table orchestrator_runs
(
    tenant     text               not null,
    run_id     text collate "C"   not null,
    workflow   text               not null,
    version    integer            not null,
    status     text               not null,
    created_at timestamptz        not null,
    updated_at timestamptz        not null,

    constraint pk_orchestrator_runs primary key (tenant, run_id)
);

-- Newest-first pages of one tenant's runs, unfiltered or filtered by status or by workflow.
create index ix_orchestrator_runs_created on orchestrator_runs (tenant, created_at desc, run_id desc);
create index ix_orchestrator_runs_status_created on orchestrator_runs (tenant, status, created_at desc, run_id desc);
create index ix_orchestrator_runs_workflow_created on orchestrator_runs (tenant, workflow, created_at desc, run_id desc);
