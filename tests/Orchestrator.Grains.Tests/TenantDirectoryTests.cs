using Orchestrator.Grains.Tenants;
using Orchestrator.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// The tenant directory behind the admin's tenant list. The cluster is shared, so each test uses ids under its own
/// random prefix and starts its pages from that prefix (a cursor is any id: the pages after it are by ordinal id).
/// </summary>
[Collection(InMemoryCluster.Name)]
public sealed class TenantDirectoryTests(InMemoryClusterFixture fixture)
{
    private ITenantDirectoryGrain Directory => fixture.Client.GetGrain<ITenantDirectoryGrain>(0);

    private static string NewPrefix() => $"d{Guid.NewGuid():N}"[..13];

    [Fact]
    public async Task ACreatedTenantIsListedWithItsNameAndCreationTime()
    {
        var prefix = NewPrefix();
        var created = await fixture.Client.GetGrain<ITenantGrain>(prefix + "-a").CreateAsync("Acme Platform");

        var page = await Directory.ListAsync(1, prefix);

        var entry = Assert.Single(page.Items);
        Assert.Equal(new TenantDirectoryEntry(prefix + "-a", "Acme Platform", created.CreatedAt), entry);
    }

    [Fact]
    public async Task ARenameUpdatesTheListedName()
    {
        var prefix = NewPrefix();
        var tenant = fixture.Client.GetGrain<ITenantGrain>(prefix + "-a");
        var created = await tenant.CreateAsync("Before");

        await tenant.RenameAsync("After");

        var entry = Assert.Single((await Directory.ListAsync(1, prefix)).Items);
        Assert.Equal("After", entry.DisplayName);
        Assert.Equal(created.CreatedAt, entry.CreatedAt);
    }

    [Fact]
    public async Task PagesAreInIdOrderAndTheCursorContinuesAfterTheLastIdShown()
    {
        var prefix = NewPrefix();
        // Created out of order: the list orders by id, not by creation.
        foreach (var suffix in new[] { "c", "a", "b" })
        {
            await fixture.Client.GetGrain<ITenantGrain>($"{prefix}-{suffix}").CreateAsync(suffix.ToUpperInvariant());
        }

        var first = await Directory.ListAsync(2, prefix);
        Assert.Equal([prefix + "-a", prefix + "-b"], first.Items.Select(t => t.Id));
        Assert.Equal(prefix + "-b", first.NextCursor);

        var second = await Directory.ListAsync(2, first.NextCursor);
        Assert.Equal(prefix + "-c", second.Items[0].Id);
        Assert.Equal("C", second.Items[0].DisplayName);
    }

    [Fact]
    public async Task TheLastPageHasNoCursorAndTheLimitIsClamped()
    {
        var prefix = NewPrefix();
        await fixture.Client.GetGrain<ITenantGrain>(prefix + "-a").CreateAsync("A");
        // "~" sorts after every tenant id, so the page after it is empty and is the last one.
        var after = await Directory.ListAsync(100, "~");
        var clamped = await Directory.ListAsync(0, prefix);

        Assert.Empty(after.Items);
        Assert.Null(after.NextCursor);
        Assert.Equal(prefix + "-a", Assert.Single(clamped.Items).Id);
    }

    [Fact]
    public async Task AnExistingTenantUnknownToTheDirectoryIsRegisteredWhenItsGrainActivates()
    {
        // A tenant stored before the directory existed: its record is written straight to storage, as an older
        // cluster left it, so no create or rename ever told the directory.
        var id = NewPrefix() + "-old";
        var tenant = fixture.Client.GetGrain<ITenantGrain>(id);
        var createdAt = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Orchestrator);
        var record = new GrainState<TenantState>(new TenantState { DisplayName = "Old Co", CreatedAt = createdAt, UpdatedAt = createdAt, Revision = 1 });
        await storage.WriteStateAsync("tenant", tenant.GetGrainId(), record);
        Assert.DoesNotContain((await Directory.ListAsync(1, id[..^1])).Items, t => t.Id == id);

        // First use since then: a key authenticating activates the grain.
        Assert.Equal(ApiKeyCheck.Unknown, await tenant.AuthenticateAsync("0123456789ab", "secret"));

        var entry = Assert.Single((await Directory.ListAsync(1, id[..^1])).Items);
        Assert.Equal(new TenantDirectoryEntry(id, "Old Co", createdAt), entry);
    }
}
