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
    public async Task OfManyRacingCreatesExactlyOneIsToldItCreatedTheTenant()
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());

        var creations = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => tenant.CreateOrGetAsync("Racing")));

        Assert.Single(creations, c => c.Created);
        Assert.All(creations, c => Assert.Equal(creations[0].Tenant, c.Tenant));
    }

    [Theory]
    [InlineData(-1, null)]
    [InlineData(1_000_001, null)]
    [InlineData(null, -1)]
    [InlineData(null, 1_000_001)]
    public async Task QuotasOutsideTheirRangeAreRefusedByTheGrainItself(int? maxInstances, int? maxConcurrentRuns)
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());

        var error = await Assert.ThrowsAsync<ArgumentException>(() => tenant.CreateAsync("Bounds", new TenantQuotas(maxInstances, maxConcurrentRuns)));

        Assert.Contains(maxInstances is null ? "quotas.max_concurrent_runs must be from 0 to 1000000" : "quotas.max_instances must be from 0 to 1000000", error.Message, StringComparison.Ordinal);
        Assert.Null(await tenant.GetAsync());
    }

    [Fact]
    public async Task AKeyCannotBeIssuedForLongerThanTenYears()
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());
        await tenant.CreateAsync("Keys");

        var error = await Assert.ThrowsAsync<ArgumentException>(() => tenant.CreateKeyAsync("forever", DateTimeOffset.UtcNow.AddDays(3651)));
        var fine = await tenant.CreateKeyAsync("long", DateTimeOffset.UtcNow.AddDays(3649));

        Assert.Contains("expires_at must be at most 3650 days away", error.Message, StringComparison.Ordinal);
        Assert.Equal(["long"], (await tenant.ListKeysAsync()).Select(k => k.Name));
        Assert.NotNull(fine.Key);
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

    [Fact]
    public async Task AKeyAuthenticatesOnlyWithItsOwnSecretUntilRevoked()
    {
        var id = NewTenantId();
        var tenant = fixture.Client.GetGrain<ITenantGrain>(id);
        await tenant.CreateAsync("Keys");

        var created = await tenant.CreateKeyAsync("ci", expiresAt: null);
        Assert.True(ApiKeyToken.TryParse(created.Key, out var token));
        Assert.Equal(id, token.Tenant);
        Assert.Equal(created.Info.Id, token.KeyId);
        Assert.Equal($"orch_{id}_{token.KeyId}", created.Info.Prefix);

        Assert.Equal(ApiKeyCheck.Valid, await tenant.AuthenticateAsync(token.KeyId, token.Secret));
        Assert.Equal(ApiKeyCheck.Unknown, await tenant.AuthenticateAsync(token.KeyId, new string('0', ApiKeyToken.SecretLength)));
        Assert.Equal(ApiKeyCheck.Unknown, await tenant.AuthenticateAsync("0123456789ab", token.Secret));

        var revoked = await tenant.RevokeKeyAsync(token.KeyId);
        Assert.NotNull(revoked.RevokedAt);
        Assert.Equal(ApiKeyCheck.Revoked, await tenant.AuthenticateAsync(token.KeyId, token.Secret));
        Assert.Equal(revoked, await tenant.RevokeKeyAsync(token.KeyId));
        // A wrong secret for a revoked key says no more than for a key that never existed.
        Assert.Equal(ApiKeyCheck.Unknown, await tenant.AuthenticateAsync(token.KeyId, new string('1', ApiKeyToken.SecretLength)));
    }

    [Fact]
    public async Task KeysNeedAnExistingTenantAValidNameAndAFutureExpiry()
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());

        await Assert.ThrowsAsync<TenantNotFoundException>(() => tenant.CreateKeyAsync("x", null));
        await Assert.ThrowsAsync<TenantNotFoundException>(() => tenant.ListKeysAsync());
        await Assert.ThrowsAsync<ApiKeyNotFoundException>(() => tenant.RevokeKeyAsync("0123456789ab"));
        await tenant.CreateAsync("Keys");
        var blank = await Assert.ThrowsAsync<ArgumentException>(() => tenant.CreateKeyAsync(" ", null));
        var past = await Assert.ThrowsAsync<ArgumentException>(() => tenant.CreateKeyAsync("x", DateTimeOffset.UtcNow.AddMinutes(-1)));

        Assert.StartsWith("name must not be blank", blank.Message, StringComparison.Ordinal);
        Assert.StartsWith("expires_at must be in the future", past.Message, StringComparison.Ordinal);
        Assert.Empty(await tenant.ListKeysAsync());
    }

    [Fact]
    public async Task ATenantHoldsAtMostFiftyActiveKeys()
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());
        await tenant.CreateAsync("Many keys");
        var keys = new List<CreatedApiKey>();
        for (var i = 0; i < ApiKeyToken.MaxActiveKeys; i++)
        {
            keys.Add(await tenant.CreateKeyAsync($"key-{i}", null));
        }

        var error = await Assert.ThrowsAsync<TenantConflictException>(() => tenant.CreateKeyAsync("one-too-many", null));
        Assert.Contains("revoke one first", error.Message, StringComparison.Ordinal);

        await tenant.RevokeKeyAsync(keys[0].Info.Id);
        var replacement = await tenant.CreateKeyAsync("replacement", null);
        Assert.Equal(ApiKeyToken.MaxActiveKeys + 1, (await tenant.ListKeysAsync()).Count);
        Assert.Equal("replacement", replacement.Info.Name);
    }

    [Fact]
    public async Task QuotasAreKeptAndAConflictingCreateIsRefused()
    {
        var tenant = fixture.Client.GetGrain<ITenantGrain>(NewTenantId());
        var created = await tenant.CreateAsync("Quotas", new TenantQuotas(MaxInstances: 3));

        Assert.Equal(new TenantQuotas(3, null), created.Quotas);
        Assert.Equal(created, await tenant.CreateAsync("Quotas"));
        await Assert.ThrowsAsync<TenantConflictException>(() => tenant.CreateAsync("Quotas", new TenantQuotas(MaxInstances: 4)));
        var updated = await tenant.SetQuotasAsync(new TenantQuotas(4, 2));
        Assert.Equal(new TenantQuotas(4, 2), updated.Quotas);
        Assert.Equal(created.Revision + 1, updated.Revision);
        await Assert.ThrowsAsync<ArgumentException>(() => tenant.SetQuotasAsync(new TenantQuotas(-1, null)));
    }

    [Theory]
    [InlineData("orch_acme_0123456789ab_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("orch_acme-corp_0123456789ab_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("orch_Acme_0123456789ab_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("orch_acme_0123456789AB_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("orch_acme_0123456789ab_0123456789abcdef", false)]
    [InlineData("orch_acme_0123456789ab_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef_x", false)]
    [InlineData("key_acme_0123456789ab_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("", false)]
    public void OnlyWellFormedKeysParse(string key, bool parses)
    {
        Assert.Equal(parses, ApiKeyToken.TryParse(key, out var token));
        Assert.Equal(parses ? key : null, token?.ToString());
    }
}
