using Orchestrator.Grains.Tenants;

namespace Orchestrator.Grains.Tests;

public sealed class TenantIdTests
{
    [Theory]
    [InlineData("dev")]
    [InlineData("acme-platform")]
    [InlineData("a1")]
    public void ValidIdsPass(string id) => Assert.Null(TenantId.Validate(id));

    [Theory]
    [InlineData(null, "is required")]
    [InlineData("", "is required")]
    [InlineData("Acme", "must start with a lowercase letter")]
    [InlineData("acme/other", "must start with a lowercase letter")]
    [InlineData("acme-", "must start with a lowercase letter")]
    [InlineData("acme\0", "must start with a lowercase letter")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "at most 40")]
    public void InvalidIdsSayWhy(string? id, string expected) =>
        Assert.Contains(expected, TenantId.Validate(id), StringComparison.Ordinal);
}
