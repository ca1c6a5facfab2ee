using System.Net;
using Microsoft.Extensions.Options;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>Options, start-up validation, the data directory and shutdown (no machine outlives the emulator).</summary>
public sealed class HostingTests
{
    [Fact]
    public void TheDefaultsAreDocumentedValues()
    {
        var options = new FlyEmulatorOptions();

        Assert.Equal(TimeSpan.FromMilliseconds(300), options.TransitionDelay);
        Assert.Equal(TimeSpan.FromSeconds(5), options.DestroyedRetention);
        Assert.Equal(1, options.RateLimitScale);
        Assert.Null(options.RequiredToken);
        Assert.Null(options.DataDirectory);
        Assert.Equal(2222, options.SshPort);
        Assert.True(new FlyEmulatorOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public async Task InvalidOptionsStopTheStartAndEveryProblemIsNamed()
    {
        var options = new FlyEmulatorOptions
        {
            TransitionDelay = TimeSpan.FromMinutes(5),
            RateLimitScale = 0,
            RequiredToken = " ",
            DataDirectory = "relative/dir",
            DefaultRegion = "mars",
            Url = "not a url",
        };

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => FlyEmulator.StartAsync(options));

        foreach (var setting in new[] { "TransitionDelay", "RateLimitScale", "RequiredToken", "DataDirectory", "DefaultRegion", "Url" })
        {
            Assert.Contains(error.Failures, f => f.StartsWith($"FlyEmulator:{setting} ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ShutdownStopsEveryRunningMachineAndRemovesTheTemporaryDataDirectory()
    {
        var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var running = new[] { (await emulator.Fly.StartedMachineAsync(app)).Str("id"), (await emulator.Fly.StartedMachineAsync(app)).Str("id") };
        var idle = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");
        var directory = emulator.Emulator.DataDirectory;
        Assert.True(Directory.Exists(directory));

        await emulator.DisposeAsync();

        Assert.Empty(emulator.Runtime.Running);
        Assert.All(running, id => Assert.Equal("stop", emulator.Runtime.OperationsFor(id)[^1]));
        Assert.Empty(emulator.Runtime.OperationsFor(idle));
        Assert.True(emulator.Runtime.Disposed);
        Assert.False(Directory.Exists(directory));
        using var http = new HttpClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync(new Uri(emulator.Emulator.BaseAddress, "_emulator/health")));
    }

    [Fact]
    public async Task AConfiguredDataDirectoryIsKeptWithItsVolumes()
    {
        var directory = Path.Combine(Path.GetTempPath(), "fly-emulator-kept-" + Guid.NewGuid().ToString("N"));
        try
        {
            string volume;
            await using (var emulator = await TestEmulator.StartAsync(o => o.DataDirectory = directory))
            {
                var app = await emulator.Fly.CreateAppAsync();
                volume = (await emulator.Fly.PostAsync($"/v1/apps/{app}/volumes", System.Text.Json.Nodes.JsonNode.Parse("""{"name":"data"}""")))
                    .Expect(HttpStatusCode.OK).Object.Str("id");
                Assert.Equal(directory, emulator.Emulator.DataDirectory);
            }

            Assert.True(Directory.Exists(Path.Combine(directory, "volumes", volume)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task TheEmulatorListensOnLoopbackAtAFreePortOrTheConfiguredUrl()
    {
        await using var free = await TestEmulator.StartAsync();
        var port = Testing.LoopbackPort.Free();
        await using var fixedPort = await TestEmulator.StartAsync(o => o.Url = $"http://127.0.0.1:{port}");

        Assert.Equal("127.0.0.1", free.Emulator.BaseAddress.Host);
        Assert.NotEqual(0, free.Emulator.BaseAddress.Port);
        Assert.Equal(new Uri($"http://127.0.0.1:{port}/"), fixedPort.Emulator.BaseAddress);
        (await fixedPort.Fly.GetAsync("/_emulator/health")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheStandaloneProgramRefusesBadSettingsWithExitCode2()
    {
        var exitCode = await EmulatorProgram.Main(["--urls", "http://127.0.0.1:0", "--FlyEmulator:RateLimitScale=-1"]);

        Assert.Equal(EmulatorProgram.ConfigurationExitCode, exitCode);
    }

    [Fact]
    public async Task TheStandaloneProgramServesTheApi()
    {
        var port = Testing.LoopbackPort.Free();
        await using var app = EmulatorProgram.Build(["--urls", $"http://127.0.0.1:{port}", "--FlyEmulator:RequiredToken=standalone", "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        http.DefaultRequestHeaders.Add("Authorization", "Bearer standalone");

        var response = await new FlyHttp(http).GetAsync("/v1/apps?org_slug=personal");

        Assert.Equal("""{"total_apps":0,"apps":[]}""", response.Expect(HttpStatusCode.OK).Text);
        await app.StopAsync();
    }
}
