using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs.Tests;

/// <summary>
/// The behaviour every <see cref="IRunIndex"/> must have, run against PostgreSQL and against memory. Every test
/// uses its own tenants, so tests sharing an index's storage never meet.
/// </summary>
public abstract class RunIndexContract
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Statuses = [RunStatuses.Running, RunStatuses.Succeeded, RunStatuses.Failed];
    private static readonly string[] Workflows = ["preview", "code-server"];

    protected abstract IRunIndex Index { get; }

    [Fact]
    public async Task PagesCoverEveryRunOfTheTenantOnceNewestFirstWithFilters()
    {
        var tenants = new[] { NewTenant(), NewTenant() };
        var runs = new List<RunSummary>();
        for (var i = 0; i < 2500; i++)
        {
            // Three runs share each created_at, so the run id must break ties; tenant 0 gets 1,500 runs, tenant 1 1,000.
            var tenant = tenants[i % 5 < 3 ? 0 : 1];
            var created = Start.AddSeconds(i / 3);
            runs.Add(new RunSummary(tenant, $"run-{i * 7919 % 2500:D5}", Workflows[i % 2], 1, Statuses[i % 3], created, created.AddMinutes(1)));
        }

        await Parallel.ForEachAsync(runs, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (run, ct) => await Index.UpsertAsync(run, ct));

        foreach (var tenant in tenants)
        {
            foreach (var (status, workflow) in new (string?, string?)[] { (null, null), (RunStatuses.Failed, null), (null, "code-server"), (RunStatuses.Running, "preview") })
            {
                var expected = runs
                    .Where(r => r.Tenant == tenant && (status is null || r.Status == status) && (workflow is null || r.Workflow == workflow))
                    .OrderByDescending(r => r.CreatedAt)
                    .ThenByDescending(r => r.RunId, StringComparer.Ordinal)
                    .ToList();
                var listed = new List<RunSummary>();
                string? cursor = null;
                var pages = 0;
                do
                {
                    var page = await Index.ListAsync(tenant, new RunListQuery(97, cursor, status, workflow));
                    Assert.True(page.Items.Count == 97 || page.NextCursor is null, "only the last page may be short");
                    listed.AddRange(page.Items);
                    cursor = page.NextCursor;
                    pages++;
                }
                while (cursor is not null);

                Assert.NotEmpty(expected);
                Assert.Equal(expected, listed);
                Assert.Equal((expected.Count + 96) / 97, pages);
            }
        }
    }

    [Fact]
    public async Task ATenantNeverSeesAnotherTenantsRuns()
    {
        var (mine, theirs) = (NewTenant(), NewTenant());
        await Index.UpsertAsync(Summary(theirs, "shared-id", RunStatuses.Running, Start));
        await Index.UpsertAsync(Summary(theirs, "their-run", RunStatuses.Running, Start));
        await Index.UpsertAsync(Summary(mine, "my-run", RunStatuses.Running, Start.AddSeconds(-1)));

        var page = await Index.ListAsync(mine, new RunListQuery(10));
        Assert.Equal(["my-run"], page.Items.Select(r => r.RunId));
        Assert.Null(await Index.GetAsync(mine, "shared-id"));
        Assert.Empty((await Index.ListAsync(NewTenant(), new RunListQuery(10))).Items);

        // A cursor made on one tenant's list, used on another's, still lists only the caller's runs.
        var theirPage = await Index.ListAsync(theirs, new RunListQuery(1));
        var crossed = await Index.ListAsync(mine, new RunListQuery(10, theirPage.NextCursor));
        Assert.All(crossed.Items, r => Assert.Equal(mine, r.Tenant));
    }

    [Fact]
    public async Task TheLatestUpdateWinsAndCreatedAtIsKept()
    {
        var tenant = NewTenant();
        var created = Start.AddTicks(1_234_567); // below PostgreSQL's precision: truncated to microseconds
        await Index.UpsertAsync(Summary(tenant, "r1", RunStatuses.Pending, created, created));
        await Index.UpsertAsync(Summary(tenant, "r1", RunStatuses.Running, created, created.AddSeconds(2)));
        await Index.UpsertAsync(Summary(tenant, "r1", RunStatuses.Pending, created, created.AddSeconds(1))); // late, stale
        Assert.Equal(RunStatuses.Running, (await Index.GetAsync(tenant, "r1"))!.Status);

        await Index.UpsertAsync(Summary(tenant, "r1", RunStatuses.Succeeded, created.AddDays(1), created.AddSeconds(3)) with { Version = 2 });
        var final = await Index.GetAsync(tenant, "r1");
        Assert.Equal(
            new RunSummary(tenant, "r1", "preview", 2, RunStatuses.Succeeded, created.AddTicks(-7), created.AddSeconds(3).AddTicks(-7)),
            final);
        Assert.Equal(TimeSpan.Zero, final!.CreatedAt.Offset);
        Assert.Equal([final], (await Index.ListAsync(tenant, new RunListQuery(10))).Items);
    }

    [Fact]
    public async Task PagesDoNotShiftWhenNewerRunsArrive()
    {
        var tenant = NewTenant();
        for (var i = 0; i < 10; i++)
        {
            await Index.UpsertAsync(Summary(tenant, $"old-{i}", RunStatuses.Running, Start.AddSeconds(i)));
        }

        var first = await Index.ListAsync(tenant, new RunListQuery(4));
        await Index.UpsertAsync(Summary(tenant, "newer", RunStatuses.Running, Start.AddHours(1)));
        var second = await Index.ListAsync(tenant, new RunListQuery(4, first.NextCursor));
        var third = await Index.ListAsync(tenant, new RunListQuery(4, second.NextCursor));

        Assert.Equal(["old-9", "old-8", "old-7", "old-6"], first.Items.Select(r => r.RunId));
        Assert.Equal(["old-5", "old-4", "old-3", "old-2"], second.Items.Select(r => r.RunId));
        Assert.Equal(["old-1", "old-0"], third.Items.Select(r => r.RunId));
        Assert.Null(third.NextCursor);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a cursor!")]
    [InlineData("AQ")] // the format byte alone
    [InlineData("AgAAAAAAAAAAcg")] // unknown format version
    [InlineData("AQAAAAAAAAAA")] // no run id
    [InlineData("AX__________cg")] // a time outside DateTimeOffset's range
    [InlineData("AQAAAAAAAAAA_w")] // run id not UTF-8
    [InlineData("AQAAAAAAAAAAAA")] // run id with U+0000
    public async Task AMalformedCursorIsAnArgumentErrorNamingCursor(string cursor)
    {
        var error = await Assert.ThrowsAsync<InvalidRunCursorException>(() => Index.ListAsync(NewTenant(), new RunListQuery(10, cursor)));
        Assert.Equal("cursor", error.ParamName);
        Assert.IsAssignableFrom<ArgumentException>(error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(RunListQuery.MaxLimit + 1)]
    public async Task APageSizeOutOfRangeIsAnArgumentErrorNamingLimit(int limit)
    {
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Index.ListAsync(NewTenant(), new RunListQuery(limit)));
        Assert.Equal("limit", error.ParamName);
    }

    [Fact]
    public async Task ACursorRoundTripsRunIdsOfAnyText()
    {
        var tenant = NewTenant();
        string[] ids = ["z-ascii", "y-caf\u00e9", "x-\u65e5\u672c"];
        foreach (var id in ids)
        {
            await Index.UpsertAsync(Summary(tenant, id, RunStatuses.Running, Start));
        }

        var first = await Index.ListAsync(tenant, new RunListQuery(1));
        var second = await Index.ListAsync(tenant, new RunListQuery(1, first.NextCursor));
        var third = await Index.ListAsync(tenant, new RunListQuery(1, second.NextCursor));
        Assert.Equal(ids, first.Items.Concat(second.Items).Concat(third.Items).Select(r => r.RunId));
        Assert.Null(third.NextCursor);
    }

    protected static string NewTenant() => $"tenant-{Guid.NewGuid():N}";

    protected static RunSummary Summary(string tenant, string runId, string status, DateTimeOffset created, DateTimeOffset? updated = null) =>
        new(tenant, runId, "preview", 1, status, created, updated ?? created);
}
