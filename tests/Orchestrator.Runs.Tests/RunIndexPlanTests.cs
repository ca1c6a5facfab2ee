using System.Text;
using Npgsql;
using Orchestrator.Grains.Runs;
using Orchestrator.Testing;
using Xunit.Abstractions;

namespace Orchestrator.Runs.Tests;

/// <summary>
/// With 100k runs, every list query is an ordered index scan: no sequential scan and no sort. Checked on the
/// plan (EXPLAIN of the exact SQL the index runs), not on timings.
/// </summary>
public sealed class RunIndexPlanTests(PostgresDatabaseFixture fixture, ITestOutputHelper output) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task ListQueriesOverOneHundredThousandRunsUseTheIndexes()
    {
        await using var dataSource = await RunDatabase.MigrateAsync(fixture.ConnectionString);
        await using (var seed = dataSource.CreateCommand("""
            insert into orchestrator_runs (tenant, run_id, workflow, version, status, created_at, updated_at)
            select 'tenant-' || (i % 20),
                   'run-' || lpad(i::text, 6, '0'),
                   (array['preview', 'code-server', 'ubuntu', 'nightly'])[1 + i % 4],
                   1,
                   (array['pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'])[1 + (i / 7) % 6],
                   timestamptz '2026-01-01' + i * interval '1 second',
                   timestamptz '2026-01-01' + i * interval '1 second'
            from generate_series(1, 100000) as i;
            analyze orchestrator_runs;
            """))
        {
            await seed.ExecuteNonQueryAsync();
        }

        var index = new PostgresRunIndex(dataSource);
        var firstFailed = await index.ListAsync("tenant-7", new RunListQuery(50, Status: RunStatuses.Failed));
        Assert.Equal(50, firstFailed.Items.Count);

        (RunListQuery Query, string IndexName)[] cases =
        [
            (new RunListQuery(50), "ix_orchestrator_runs_created"),
            (new RunListQuery(50, Status: RunStatuses.Failed), "ix_orchestrator_runs_status_created"),
            (new RunListQuery(50, firstFailed.NextCursor, RunStatuses.Failed), "ix_orchestrator_runs_status_created"),
            (new RunListQuery(50, Workflow: "nightly"), "ix_orchestrator_runs_workflow_created"),
            (new RunListQuery(50, firstFailed.NextCursor, Workflow: "nightly"), "ix_orchestrator_runs_workflow_created"),
        ];
        foreach (var (query, indexName) in cases)
        {
            var plan = await ExplainAsync(dataSource, "tenant-7", query);
            output.WriteLine($"{query}:\n{plan}");
            Assert.Contains($"Index Scan using {indexName}", plan, StringComparison.Ordinal);
            Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);
            Assert.DoesNotContain("Sort", plan, StringComparison.Ordinal);
        }

        // Both filters: either index serves the order; still no scan of the table, no sort.
        var both = await ExplainAsync(dataSource, "tenant-7", new RunListQuery(50, firstFailed.NextCursor, RunStatuses.Failed, "nightly"));
        output.WriteLine(both);
        Assert.Contains("Index Scan", both, StringComparison.Ordinal);
        Assert.DoesNotContain("Seq Scan", both, StringComparison.Ordinal);
    }

    private static async Task<string> ExplainAsync(NpgsqlDataSource dataSource, string tenant, RunListQuery query)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = PostgresRunIndex.CreateListCommand(tenant, query);
        command.CommandText = "explain " + command.CommandText;
        command.Connection = connection;
        await using var reader = await command.ExecuteReaderAsync();
        var plan = new StringBuilder();
        while (await reader.ReadAsync())
        {
            plan.AppendLine(reader.GetString(0));
        }

        return plan.ToString();
    }
}
