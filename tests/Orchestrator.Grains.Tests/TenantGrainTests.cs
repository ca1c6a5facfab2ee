using Orchestrator.Grains.Tenants;
using Orchestrator.Testing;

namespace Orchestrator.Grains.Tests;

[Collection(InMemoryCluster.Name)]
public sealed class TenantGrainTests(InMemoryClusterFixture fixture)
{
    private static string NewTenantId() => $"t-{Guid.NewGuid():N}"[..30];

    [Fact]
    public async Task GetReturnsNullForATenantNeverCreated()
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());

        Assert.Null(await tenant.GetAsync());
    }

    [Fact]
    public async Task CreateRecordsTheTenantAndIsIdempotent()
    {
        var id = NewTenantId();
        var tenant = fixture.Client.GetGrain<ITenantGrain>(id);

        var first = await tenant.CreateAsync("Acme Platform");
        var second = await tenant.CreateAsync("Acme Platform");

        Assert.Equal(id, first.Id);
        Assert.Equal("Acme Platform", first.DisplayName);
        Assert.Equal(1, first.Revision);
        Assert.Equal(first, second);
        Assert.Equal(first, await tenant.GetAsync());
    }

    [Fact]
    public async Task CreateWithAnotherDisplayNameIsAConflict()
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());
        await tenant.CreateAsync("First");

        var error = await Assert.ThrowsAsync<TenantConflictException>(() => tenant.CreateAsync("Second"));

        Assert.Contains("already exists", error.Message, StringComparison.Ordinal);
        Assert.Equal("First", (await tenant.GetAsync())!.DisplayName);
    }

    [Fact]
    public async Task RenameBumpsTheRevisionOnlyWhenTheNameChanges()
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());
        var created = await tenant.CreateAsync("Before");

        var renamed = await tenant.RenameAsync("After");
        var again = await tenant.RenameAsync("After");

        Assert.Equal("After", renamed.DisplayName);
        Assert.Equal(2, renamed.Revision);
        Assert.Equal(created.CreatedAt, renamed.CreatedAt);
        Assert.True(renamed.UpdatedAt >= created.UpdatedAt);
        Assert.Equal(renamed, again);
    }

    [Fact]
    public async Task RenameOfAMissingTenantIsNotFound()
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());

        await Assert.ThrowsAsync<TenantNotFoundException>(() => tenant.RenameAsync("Anything"));
        Assert.Null(await tenant.GetAsync());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("bell\u0007")]
    public async Task BadDisplayNamesAreRefusedAndNothingIsStored(string displayName)
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());

        var error = await Assert.ThrowsAsync<ArgumentException>(() => tenant.CreateAsync(displayName));

        Assert.StartsWith("displayName ", error.Message, StringComparison.Ordinal);
        Assert.Null(await tenant.GetAsync());
    }

    [Fact]
    public async Task AnOverlongDisplayNameIsRefused()
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());

        var error = await Assert.ThrowsAsync<ArgumentException>(() => tenant.CreateAsync(new string('x', TenantId.MaxDisplayNameLength + 1)));

        Assert.Contains("at most 200", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("has/slash")]
    [InlineData("-leading")]
    [InlineData("double--dash")]
    [InlineData("9starts-with-digit")]
    public async Task AGrainKeyThatIsNotATenantIdCannotActivate(string id)
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(id);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => tenant.GetAsync().AsTask());

        Assert.Contains($"Tenant id '{id}'", error.ToString(), StringComparison.Ordinal);
    }
}
