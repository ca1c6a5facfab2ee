using Orchestrator.Grains.Tenants;

namespace Orchestrator.Grains.Tests;

[Collection(FakeTimeCluster.Name)]
public sealed class TenantSecretsGrainTests(FakeTimeClusterFixture fixture)
{
    private readonly string _tenant = $"t-{Guid.NewGuid():N}"[..30];

    private ITenantSecretsGrain Secrets => fixture.Client.GetGrain<ITenantSecretsGrain>(_tenant);

    [Fact]
    public async Task PutCreatesThenReplacesAndListingShowsNamesOnly()
    {
        var first = await Secrets.PutAsync("GITHUB_TOKEN", "ghp_first");
        var second = await Secrets.PutAsync("GITHUB_TOKEN", "ghp_second");
        await Secrets.PutAsync("A_KEY", "value");

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(first.Secret.CreatedAt, second.Secret.CreatedAt);
        Assert.Equal(["A_KEY", "GITHUB_TOKEN"], (await Secrets.ListAsync()).Select(s => s.Name));
        var values = await fixture.Client.GetGrain<ITenantSecretValuesGrain>(_tenant).GetValuesAsync(["GITHUB_TOKEN", "MISSING"]);
        Assert.Equal(new Dictionary<string, string> { ["GITHUB_TOKEN"] = "ghp_second" }, values);
    }

    [Fact]
    public async Task AnotherTenantSeesNothing()
    {
        await Secrets.PutAsync("SHARED_NAME", "mine");
        var other = $"o-{Guid.NewGuid():N}"[..30];

        Assert.Empty(await fixture.Client.GetGrain<ITenantSecretsGrain>(other).ListAsync());
        Assert.Empty(await fixture.Client.GetGrain<ITenantSecretValuesGrain>(other).GetValuesAsync(["SHARED_NAME"]));
    }

    [Fact]
    public async Task DeleteForgetsTheSecretAndSaysWhetherThereWasOne()
    {
        await Secrets.PutAsync("GONE", "x");

        Assert.True(await Secrets.DeleteAsync("GONE"));
        Assert.False(await Secrets.DeleteAsync("GONE"));
        Assert.Empty(await Secrets.ListAsync());
        Assert.Empty(await fixture.Client.GetGrain<ITenantSecretValuesGrain>(_tenant).GetValuesAsync(["GONE"]));
    }

    [Theory]
    [InlineData("lower", "x", "name must be 1 to 64 characters")]
    [InlineData("1LEADING_DIGIT", "x", "name must be 1 to 64 characters")]
    [InlineData("OK", "", "value must be a non-empty string")]
    [InlineData("OK", "a\0b", "value must not contain U+0000")]
    public async Task BadNamesAndValuesAreRefusedNamingTheField(string name, string value, string expected)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Secrets.PutAsync(name, value));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Empty(await Secrets.ListAsync());
    }

    [Fact]
    public async Task AValueOverSixtyFourKibibytesIsRefused()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Secrets.PutAsync("BIG", new string('é', 32 * 1024 + 1)));

        Assert.Contains("at most 65536 bytes of UTF-8 (it is 65538)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATenantHoldsAtMostOneHundredSecretsButMayStillReplaceOne()
    {
        for (var i = 0; i < TenantSecretRules.MaxSecrets; i++)
        {
            await Secrets.PutAsync($"S_{i}", "v");
        }

        await Assert.ThrowsAsync<TenantConflictException>(() => Secrets.PutAsync("ONE_MORE", "v"));
        Assert.False((await Secrets.PutAsync("S_0", "replaced")).Created);
        Assert.Equal(TenantSecretRules.MaxSecrets, (await Secrets.ListAsync()).Count);
    }
}
