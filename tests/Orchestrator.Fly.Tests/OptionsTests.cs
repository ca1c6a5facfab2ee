using Microsoft.Extensions.Options;

namespace Orchestrator.Fly.Tests;

/// <summary>A host with bad Fly settings fails at start, and the failure names the setting.</summary>
public sealed class OptionsTests
{
    private static readonly Dictionary<string, string?> _valid = new()
    {
        ["Fly:ApiToken"] = "fo1_token",
        ["Fly:AppName"] = "orchestrator-machines",
        ["Fly:OrgSlug"] = "personal",
    };

    [Fact]
    public async Task Valid_settings_start_with_the_documented_defaults()
    {
        using var host = Build(_valid);

        await host.StartAsync();
        var options = host.Services.GetRequiredService<IOptions<FlyOptions>>().Value;
        await host.StopAsync();

        Assert.Equal(new Uri("https://api.machines.dev"), options.BaseAddress);
        Assert.Equal(TimeSpan.FromSeconds(60), options.MaxWaitPerRequest);
        Assert.NotNull(host.Services.GetRequiredService<IMachineProvider>());
    }

    [Theory]
    [InlineData("Fly:ApiToken", "", "ApiToken")]
    [InlineData("Fly:AppName", "Bad_Name", "AppName")]
    [InlineData("Fly:AppName", "", "AppName")]
    [InlineData("Fly:OrgSlug", "My Org", "OrgSlug")]
    [InlineData("Fly:AttemptTimeout", "00:00:00", "AttemptTimeout")]
    [InlineData("Fly:MaxRetryAttempts", "99", "MaxRetryAttempts")]
    [InlineData("Fly:MaxWaitPerRequest", "00:02:00", "MaxWaitPerRequest")]
    [InlineData("Fly:MaxCreateAttempts", "0", "MaxCreateAttempts")]
    [InlineData("Fly:BaseAddress", "ftp://example.com", "BaseAddress")]
    [InlineData("Fly:TotalTimeout", "00:00:01", "TotalTimeout")]
    public async Task Invalid_setting_fails_the_start_naming_the_setting(string key, string value, string setting)
    {
        var settings = new Dictionary<string, string?>(_valid) { [key] = value };
        using var host = Build(settings);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(setting, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_failure_is_reported_at_once()
    {
        using var host = Build(new Dictionary<string, string?> { ["Fly:AppName"] = "Bad_Name" });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("ApiToken", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AppName", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validation_failure_does_not_print_the_token()
    {
        const string token = "fo1_secret_value_that_must_not_leak";
        using var host = Build(new Dictionary<string, string?>(_valid) { ["Fly:ApiToken"] = token, ["Fly:AppName"] = "Bad_Name" });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.DoesNotContain(token, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_can_come_from_FLY_API_TOKEN()
    {
        using var host = Build(new Dictionary<string, string?>(_valid) { ["Fly:ApiToken"] = null, [FlyOptions.ApiTokenVariable] = "fo1_env" });

        await host.StartAsync();
        var options = host.Services.GetRequiredService<IOptions<FlyOptions>>().Value;
        await host.StopAsync();

        Assert.Equal("fo1_env", options.ApiToken);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddFlyMachines(builder.Configuration);
        return builder.Build();
    }
}
