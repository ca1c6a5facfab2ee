using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>Bad regions, guest sizes, bodies and tokens get Fly's error shape: <c>{"error":"..."}</c> and nothing else.</summary>
public sealed class ValidationTests(ValidationTests.ValidationEmulator shared) : IClassFixture<ValidationTests.ValidationEmulator>
{
    public sealed class ValidationEmulator : IAsyncLifetime
    {
        internal TestEmulator Emulator { get; private set; } = null!;

        internal string App { get; private set; } = "";

        public async Task InitializeAsync()
        {
            Emulator = await TestEmulator.StartAsync(o => o.RequiredToken = "s3cret");
            App = await Emulator.Fly.CreateAppAsync();
        }

        public async Task DisposeAsync() => await Emulator.DisposeAsync();
    }

    private FlyHttp Fly => shared.Emulator.Fly;

    private static void AssertFlyError(FlyResponse response, HttpStatusCode status, string? contains = null)
    {
        response.Expect(status);
        Assert.Equal(["error"], response.Object.Select(p => p.Key));
        if (contains is not null)
        {
            Assert.Contains(contains, response.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("xyz")]
    [InlineData("ORD")]
    [InlineData("us-east-1")]
    public async Task AnUnknownRegionIsRefusedForMachinesAndVolumes(string region)
    {
        AssertFlyError(await Fly.PostAsync($"/v1/apps/{shared.App}/machines", FlyHttp.MachineBody(region)), HttpStatusCode.UnprocessableEntity, region);
        AssertFlyError(await Fly.PostAsync($"/v1/apps/{shared.App}/volumes", new JsonObject { ["name"] = "data", ["region"] = region }), HttpStatusCode.UnprocessableEntity, region);
    }

    [Theory]
    [InlineData("ams")]
    [InlineData("iad")]
    [InlineData("syd")]
    [InlineData("nrt")]
    public async Task RealRegionsAreAccepted(string region)
    {
        var machine = await Fly.CreateMachineAsync(shared.App, FlyHttp.MachineBody(region, skipLaunch: true));

        Assert.Equal(region, machine.Str("region"));
    }

    [Theory]
    [InlineData("""{"cpu_kind":"shared","cpus":1,"memory_mb":100}""", "256 MiB increments")]
    [InlineData("""{"cpu_kind":"performance","cpus":1,"memory_mb":256}""", "minimum required 2048 MiB")]
    [InlineData("""{"cpu_kind":"shared","cpus":1,"memory_mb":4096}""", "maximum allowed 2048 MiB")]
    [InlineData("""{"cpu_kind":"shared","cpus":3,"memory_mb":768}""", "cpus 3")]
    [InlineData("""{"cpu_kind":"turbo","cpus":1,"memory_mb":256}""", "cpu_kind")]
    [InlineData("""{"cpu_kind":"shared","cpus":1,"memory_mb":256,"gpu_kind":"a100-pcie-40gb"}""", "gpu")]
    public async Task AnInvalidGuestIsRefused(string guest, string contains)
    {
        var config = new JsonObject { ["image"] = "ubuntu", ["guest"] = JsonNode.Parse(guest) };

        var response = await Fly.PostAsync($"/v1/apps/{shared.App}/machines", FlyHttp.MachineBody(config: config));

        AssertFlyError(response, HttpStatusCode.UnprocessableEntity, contains);
        Assert.StartsWith("failed to launch VM: ", response.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("shared-cpu-1x", "shared", 1, 256)]
    [InlineData("shared-cpu-4x", "shared", 4, 1024)]
    [InlineData("performance-2x", "performance", 2, 4096)]
    public async Task SizePresetsResolveToAGuest(string size, string kind, int cpus, int memory)
    {
        var machine = await Fly.CreateMachineAsync(shared.App, FlyHttp.MachineBody(config: new JsonObject { ["image"] = "ubuntu", ["size"] = size }, skipLaunch: true));

        var guest = machine["config"]!["guest"]!;
        Assert.Equal(kind, guest.Str("cpu_kind"));
        Assert.Equal(cpus, guest["cpus"]!.GetValue<int>());
        Assert.Equal(memory, guest["memory_mb"]!.GetValue<int>());
    }

    [Fact]
    public async Task AnUnknownSizePresetIsRefused()
    {
        var response = await Fly.PostAsync($"/v1/apps/{shared.App}/machines", FlyHttp.MachineBody(config: new JsonObject { ["image"] = "ubuntu", ["size"] = "mega-cpu-9x" }));

        AssertFlyError(response, HttpStatusCode.UnprocessableEntity, "mega-cpu-9x");
    }

    [Fact]
    public async Task AnInvalidGuestOnUpdateIsRefusedAndTheMachineKeepsItsVersion()
    {
        var machine = await Fly.CreateMachineAsync(shared.App, FlyHttp.MachineBody(skipLaunch: true));
        var config = new JsonObject { ["image"] = "ubuntu", ["guest"] = new JsonObject { ["cpu_kind"] = "performance", ["cpus"] = 2, ["memory_mb"] = 2048 } };

        var response = await Fly.PostAsync($"/v1/apps/{shared.App}/machines/{machine.Str("id")}", new JsonObject { ["config"] = config });

        AssertFlyError(response, HttpStatusCode.UnprocessableEntity, "minimum required 4096 MiB");
        Assert.StartsWith($"failed to update VM {machine.Str("id")}: ", response.Error, StringComparison.Ordinal);
        Assert.Equal(machine.Str("instance_id"), (await Fly.GetMachineAsync(shared.App, machine.Str("id"))).Str("instance_id"));
    }

    [Fact]
    public async Task AVolumeComputeHintMustBeAValidGuest()
    {
        var good = await Fly.PostAsync($"/v1/apps/{shared.App}/volumes", JsonNode.Parse("""{"name":"hinted","region":"ord","compute":{"cpu_kind":"performance","cpus":1,"memory_mb":2048},"compute_image":"ubuntu"}"""));
        var bad = await Fly.PostAsync($"/v1/apps/{shared.App}/volumes", JsonNode.Parse("""{"name":"hinted","region":"ord","compute":{"cpu_kind":"performance","cpus":1,"memory_mb":512}}"""));

        good.Expect(HttpStatusCode.OK);
        AssertFlyError(bad, HttpStatusCode.UnprocessableEntity, "compute.memory_mb");
    }

    [Theory]
    [InlineData("{not json", "invalid character")]
    [InlineData("[1,2]", "json: cannot unmarshal array into Go value of type main.createMachineRequest")]
    [InlineData("""{"config":{"image":"ubuntu","env":{"A":1}}}""", "json: cannot unmarshal number into Go struct field fly.MachineConfig.env.A")]
    [InlineData("""{"config":{"image":"ubuntu","guest":{"cpus":"two"}}}""", "json: cannot unmarshal string into Go struct field fly.MachineConfig.guest.cpus")]
    [InlineData("""{"config":"ubuntu"}""", "json: cannot unmarshal string into Go struct field main.createMachineRequest.config")]
    [InlineData("""{"config":{"env":{}}}""", "config.image is required")]
    [InlineData("", "EOF")]
    [InlineData("""{"config":{"image":"ubuntu","files":[{"guest_path":"relative/path","raw_value":"aGk="}]}}""", "absolute path")]
    [InlineData("""{"config":{"image":"ubuntu","files":[{"guest_path":"/etc/x","raw_value":"%%%"}]}}""", "base64")]
    [InlineData("""{"config":{"image":"ubuntu","restart":{"policy":"sometimes"}}}""", "restart.policy")]
    public async Task AMalformedMachineBodyIsA400InFlysShape(string body, string contains)
    {
        AssertFlyError(await Fly.PostAsync($"/v1/apps/{shared.App}/machines", body), HttpStatusCode.BadRequest, contains);
    }

    [Fact]
    public async Task AMalformedStopBodyIsTheFixturesError()
    {
        var machine = await Fly.CreateMachineAsync(shared.App, FlyHttp.MachineBody(skipLaunch: true));

        var response = await Fly.PostAsync($"/v1/apps/{shared.App}/machines/{machine.Str("id")}/stop", "[]");

        Assert.Equal(Fixtures.Object("error-400-stop-bad-body.json").ToJsonString(), response.Expect(HttpStatusCode.BadRequest).Object.ToJsonString());
        AssertFlyError(await Fly.PostAsync($"/v1/apps/{shared.App}/machines/{machine.Str("id")}/stop", """{"signal":"SIGFOO"}"""), HttpStatusCode.BadRequest, "SIGFOO");
        AssertFlyError(await Fly.PostAsync($"/v1/apps/{shared.App}/machines/{machine.Str("id")}/stop", """{"timeout":"forever"}"""), HttpStatusCode.BadRequest, "duration");
    }

    [Fact]
    public async Task TheRequiredTokenIsEnforcedUnderEitherScheme()
    {
        using var bearer = TestEmulator.Client(shared.Emulator.Emulator, "Bearer s3cret");
        using var flyV1 = TestEmulator.Client(shared.Emulator.Emulator, "FlyV1 s3cret");
        using var doubled = TestEmulator.Client(shared.Emulator.Emulator, "Bearer FlyV1 s3cret");
        using var wrong = TestEmulator.Client(shared.Emulator.Emulator, "Bearer guess");
        using var empty = TestEmulator.Client(shared.Emulator.Emulator, "Bearer ");
        using var none = TestEmulator.Client(shared.Emulator.Emulator, null);
        var path = $"/v1/apps/{shared.App}";

        Assert.Equal("s3cret", shared.Emulator.Emulator.ApiToken);
        foreach (var client in new[] { bearer, flyV1, doubled })
        {
            (await new FlyHttp(client).GetAsync(path)).Expect(HttpStatusCode.OK);
        }

        foreach (var client in new[] { wrong, empty, none })
        {
            var refused = await new FlyHttp(client).GetAsync(path);
            Assert.Equal(Fixtures.Object("error-401-token-validation.json").ToJsonString(), refused.Expect(HttpStatusCode.Unauthorized).Object.ToJsonString());
        }
    }

    [Fact]
    public async Task AnyTokenIsAcceptedWhenNoneIsRequired()
    {
        await using var open = await TestEmulator.StartAsync();
        using var client = TestEmulator.Client(open.Emulator, "FlyV1 fm2_anything,fm2_else");

        (await new FlyHttp(client).GetAsync("/v1/apps?org_slug=personal")).Expect(HttpStatusCode.OK);
        Assert.Equal(FlyEmulator.DefaultToken, open.Emulator.ApiToken);
    }

    [Fact]
    public async Task EveryResponseCarriesAFlyRequestId()
    {
        using var none = TestEmulator.Client(shared.Emulator.Emulator, null);
        var responses = new[]
        {
            await Fly.GetAsync($"/v1/apps/{shared.App}"),
            await Fly.GetAsync("/v1/apps/nope"),
            await Fly.GetAsync("/v1/no/such/route"),
            await Fly.PostAsync($"/v1/apps/{shared.App}/machines", "{"),
            await new FlyHttp(none).GetAsync($"/v1/apps/{shared.App}"),
        };

        Assert.All(responses, r => Assert.Matches("^[0-9A-HJKMNP-TV-Z]{26}-[a-z]{3}$", r.Headers.GetValues("fly-request-id").Single()));
        Assert.Equal(responses.Length, responses.Select(r => r.Headers.GetValues("fly-request-id").Single()).Distinct().Count());
        Assert.Equal("not found", responses[2].Expect(HttpStatusCode.NotFound).Error);
    }

    [Fact]
    public async Task SecretFilesAreRefusedAsUnsupported()
    {
        var config = JsonNode.Parse("""{"image":"ubuntu","files":[{"guest_path":"/etc/secret","secret_name":"API_KEY"}]}""")!.AsObject();

        AssertFlyError(await Fly.PostAsync($"/v1/apps/{shared.App}/machines", FlyHttp.MachineBody(config: config)), HttpStatusCode.UnprocessableEntity, "secret_name");
    }
}
