using System.Net;
using System.Text.Json;
using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;
using Orchestrator.Gateway.Instances;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Creates that Fly refuses part-way, end to end: real HTTP into a silo on PostgreSQL, faults injected into an
/// emulator outside the silo, and the emulator's own inventory as the judge of what was left behind.
/// </summary>
public sealed class InstanceFaultTests(InstanceFaultTests.Cluster cluster) : IClassFixture<InstanceFaultTests.Cluster>, IAsyncLifetime
{
    private const string AppName = "instance-faults";

    private FaultInjection Faults => cluster.Emulator.FaultInjection;

    private IMachineProvider Fly => cluster.Silo.App.Services.GetRequiredService<IMachineProvider>();

    public Task InitializeAsync()
    {
        Faults.Clear();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Faults.Clear();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AMachineCreateFlyRejectsRemovesTheVolumeAndEndsFailedWithFlysMessage()
    {
        var before = await LiveResourcesAsync();
        var volumesCreated = Count("Volumes_create");
        var volumesDeleted = Count("Volume_delete");
        Faults.Add(FaultRule.Failing("Machines_create", 422) with { Message = "invalid_argument: the test refuses this machine" });

        using var response = await CreateAsync(new { name = "refused", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } }, wait: true);

        await AssertInstanceFailedAsync(response, "refused", "invalid_argument: the test refuses this machine");
        Assert.Equal(1, Fired(volumesCreated));
        Assert.Equal(1, Fired(volumesDeleted));
        Assert.Equal(before, await LiveResourcesAsync());
        await DestroyAsync("refused");
    }

    [Fact]
    public async Task AnIpAllocationFlyRejectsRemovesTheMachineAndTheVolume()
    {
        var before = await LiveResourcesAsync();
        var machinesCreated = Count("Machines_create");
        var machinesDeleted = Count("Machines_delete");
        var volumesDeleted = Count("Volume_delete");
        Faults.Add(FaultRule.Failing("IPAssignments_create", 422) with { Message = "invalid_argument: the test refuses this address" });

        using var response = await CreateAsync(new { name = "no-address", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" }, public_ip = true }, wait: true);

        await AssertInstanceFailedAsync(response, "no-address", "invalid_argument: the test refuses this address");
        Assert.Equal(1, Fired(machinesCreated));
        Assert.Equal(1, Fired(machinesDeleted));
        Assert.Equal(1, Fired(volumesDeleted));
        Assert.Equal(before, await LiveResourcesAsync());
        await DestroyAsync("no-address");
    }

    /// <summary>
    /// The create makes the machine but answers 408, and the provider's lookup for it fails too: the creation step
    /// ends with the machine unknown to the instance. The grain's next step finds it by its client token.
    /// </summary>
    [Fact]
    public async Task AnUnansweredCreateIsAdoptedByTheNextCreationStepEndingWithOneMachineAndOneVolume()
    {
        var before = await LiveResourcesAsync();
        Faults.Add(FaultRule.SucceedThenTimeout("Machines_create") with { Times = 1 });
        // The provider lists machines once before creating (let through) and once after the 408, which with
        // the silo's one retry of a GET is two requests (both refused).
        Faults.Add(FaultRule.Failing("Machines_list", 503, rate: 0.5) with { Times = 2, Seed = SeedFiring(false, true, true) });
        var body = new { name = "ambiguous", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } };

        using var response = await CreateAsync(body, idempotencyKey: "retry-me", wait: true);

        var created = await ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {created}");
        Assert.All(Faults.Rules, r => Assert.Equal(r.Rule.Times, r.Fired));
        var machine = Assert.Single(await LiveMachinesAsync("ambiguous"));
        Assert.Equal(machine.Id, created.GetProperty("machine_id").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("last_error").ValueKind);
        var volumeId = created.GetProperty("volume_id").GetString();
        var after = await LiveResourcesAsync();
        Assert.Equal(before.Volumes.Append(volumeId!).Order(StringComparer.Ordinal), after.Volumes);
        Assert.Equal(before.Machines.Append(machine.Id!).Order(StringComparer.Ordinal), after.Machines);
        await DestroyAsync("ambiguous");
    }

    /// <summary>
    /// Fly makes the public IP but its answer is lost (408): the grain's next step finds it by its tag and adopts
    /// it instead of allocating another, and the destroy releases it.
    /// </summary>
    [Fact]
    public async Task AnIpAllocationWhoseAnswerIsLostIsAdoptedByTheNextStepAndReleasedByTheDestroy()
    {
        var before = await LiveResourcesAsync();
        var allocations = Count("IPAssignments_create");
        Faults.Add(FaultRule.SucceedThenTimeout("IPAssignments_create") with { Times = 1 });
        var body = new { name = "lost-address", region = "ams", size = "shared-cpu-1x", public_ip = true };

        using var response = await CreateAsync(body, idempotencyKey: "lost-address", wait: true);

        var created = await ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {created}");
        var made = Assert.Single((await LiveResourcesAsync()).Ips.Except(before.Ips));
        Assert.Equal([made], created.GetProperty("ips").EnumerateArray().Select(ip => ip.GetString()));
        Assert.Equal(1, Fired(allocations));

        using var destroyed = await cluster.Silo.Http.DeleteAsync("/api/instances/lost-address");

        Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
        Assert.Equal(before.Ips, (await LiveResourcesAsync()).Ips);
    }

    /// <summary>An address whose allocation answered 408, in no record while the lookups fail, is released by a destroy.</summary>
    [Fact]
    public async Task AnIpAllocationWhoseAnswerIsLostIsReleasedByADestroyDuringTheCreation()
    {
        var before = await LiveResourcesAsync();
        var allocation = Faults.Add(FaultRule.SucceedThenTimeout("IPAssignments_create") with { Times = 1 });
        // Lets the creation's first look through (it finds nothing to adopt yet), then refuses the lookups after the 408.
        var lookups = Faults.Add(FaultRule.Failing("IPAssignments_list", 503, rate: 0.5) with { Seed = SeedFiring(false, true, true, true, true, true, true, true) });

        using (var first = await CreateAsync(new { name = "stray-address", region = "ams", size = "shared-cpu-1x", public_ip = true }))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        // Fly made the address (the 408 comes after it), and the creation failed to find it since.
        await Wait.UntilAsync(() => Task.FromResult(Fired(allocation) == 1 && Fired(lookups) > 0), "the address to be made and looked for");
        Faults.Clear();
        using var destroyed = await cluster.Silo.Http.DeleteAsync("/api/instances/stray-address");

        Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
        Assert.Empty((await ReadAsync(destroyed)).GetProperty("ips").EnumerateArray());
        Assert.Equal(before.Ips, (await LiveResourcesAsync()).Ips);
    }

    /// <summary>Fly's capacity refusals as production saw them, each from its fixture, on the call that met them.</summary>
    [Theory]
    [InlineData("Machines_create", 503, "error-503-insufficient-capacity.json")]
    [InlineData("Machines_create", 412, "error-412-insufficient-resources-volume.json")]
    [InlineData("Machines_create", 403, "error-403-org-memory-quota.json")]
    [InlineData("Volumes_create", 400, "error-400-volume-no-capacity.json")]
    public async Task ACapacityRefusalEndsTheCreationFailedWithFlysMessageAndLeavesNothing(string operation, int status, string fixture)
    {
        var before = await LiveResourcesAsync();
        var (message, code) = LoadFlyError(fixture);
        var refusals = Faults.Add(FaultRule.Failing(operation, status) with { Message = message, ErrorCode = code });
        var name = $"full-{status}";

        using var response = await CreateAsync(new { name, region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } }, wait: true);

        await AssertInstanceFailedAsync(response, name, message);
        // A capacity refusal is definite: the create is not repeated.
        Assert.Equal(1, Fired(refusals));
        Assert.Equal(before, await LiveResourcesAsync());
        await DestroyAsync(name);
    }

    [Fact]
    public async Task ARateLimitThatOutlastsTheRetriesIsRecordedAndTheCreationGoesThroughOnceFlyAdmitsIt()
    {
        var before = await LiveResourcesAsync();
        var volumesCreated = Count("Volumes_create");
        var limited = Faults.Add(FaultRule.Failing("Machines_create", 429));

        using (var response = await CreateAsync(new { name = "throttled", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } }))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        await Wait.UntilAsync(async () => (await GetAsync("throttled")).GetProperty("last_error").ValueKind != JsonValueKind.Null, "the rate limit to be recorded");
        var waiting = await GetAsync("throttled");
        Assert.Equal("creating", waiting.GetProperty("state").GetString());
        Assert.Equal("rate limit exceeded", waiting.GetProperty("last_error").GetProperty("message").GetString());
        Assert.True(Fired(limited) >= 2);
        Faults.Remove(limited);
        await Wait.UntilAsync(async () => (await GetAsync("throttled")).GetProperty("state").GetString() == "started", "the creation to go through");
        var started = await GetAsync("throttled");

        Assert.Equal(JsonValueKind.Null, started.GetProperty("last_error").ValueKind);
        Assert.Equal(1, Fired(volumesCreated));
        Assert.Single(await LiveMachinesAsync("throttled"));
        await DestroyAsync("throttled");
        Assert.Equal(before, await LiveResourcesAsync());
    }

    /// <summary>A rule without a status that fails nothing: it counts the calls to <paramref name="operation"/>.</summary>
    private string Count(string operation) => Faults.Add(new FaultRule { Target = operation });

    private int Fired(string ruleId) => Faults.Rules.Single(r => r.Id == ruleId).Fired;

    /// <summary>
    /// A seed for a rule of rate 0.5 whose first rolls come out as <paramref name="fires"/>: the emulator rolls
    /// a rule's <see cref="Random"/>, seeded so, once per matching call and fires below the rate.
    /// </summary>
    private static int SeedFiring(params bool[] fires) =>
        Enumerable.Range(1, 10_000).First(seed =>
        {
            var random = new Random(seed);
            return fires.All(fire => (random.NextDouble() < 0.5) == fire);
        });

    private static (string Message, string? Code) LoadFlyError(string fixture)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "fly", fixture)));
        var root = document.RootElement;
        return (root.GetProperty("error").GetString()!, root.TryGetProperty("status", out var code) ? code.GetString() : null);
    }

    private async Task<HttpResponseMessage> CreateAsync(object body, string? idempotencyKey = null, bool wait = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, wait ? "/api/instances?wait=started" : "/api/instances") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add(InstanceEndpoints.IdempotencyKeyHeader, idempotencyKey);
        }

        return await cluster.Silo.Http.SendAsync(request);
    }

    private async Task<JsonElement> GetAsync(string id)
    {
        using var response = await cluster.Silo.Http.GetAsync($"/api/instances/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadAsync(response);
    }

    /// <summary>
    /// A creation Fly refused definitely: the wait ends 502 instance-failed with Fly's message, and the instance says
    /// failed with that message as its last error.
    /// </summary>
    private async Task AssertInstanceFailedAsync(HttpResponseMessage response, string id, string flyMessage)
    {
        var problem = await ReadAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.BadGateway, $"{(int)response.StatusCode}: {problem}");
        Assert.Equal(InstanceProblems.InstanceFailed, problem.GetProperty("type").GetString());
        Assert.Equal(flyMessage, problem.GetProperty("last_error").GetProperty("message").GetString());
        var instance = await GetAsync(id);
        Assert.Equal("failed", instance.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, instance.GetProperty("machine_id").ValueKind);
        Assert.Equal("fly-error", instance.GetProperty("last_error").GetProperty("code").GetString());
        Assert.Equal(flyMessage, instance.GetProperty("last_error").GetProperty("message").GetString());
    }

    private async Task DestroyAsync(string id)
    {
        using var destroyed = await cluster.Silo.Http.DeleteAsync($"/api/instances/{id}");
        Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
    }

    private async Task<List<FlyMachine>> LiveMachinesAsync(string instance) =>
        [.. (await Fly.ListMachinesAsync(AppName))
            .Where(m => m.Config?.Metadata?.GetValueOrDefault("orchestrator_instance") == instance && IsLive(m.State))];

    /// <summary>What the emulator holds that is not on its way out, sorted so that two reads compare.</summary>
    private async Task<Resources> LiveResourcesAsync()
    {
        var machines = (await Fly.ListMachinesAsync(AppName)).Where(m => IsLive(m.State)).Select(m => m.Id).Order(StringComparer.Ordinal);
        var volumes = (await Fly.ListVolumesAsync(AppName)).Where(v => v.State is not ("destroyed" or "destroying" or "pending_destroy")).Select(v => v.Id).Order(StringComparer.Ordinal);
        var ips = (await Fly.ListIpAddressesAsync(AppName)).Select(ip => ip.Ip ?? "").Order(StringComparer.Ordinal);
        return new Resources([.. machines], [.. volumes], [.. ips]);
    }

    private static bool IsLive(string? state) => state is not (FlyMachineStates.Destroying or FlyMachineStates.Destroyed);

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());

    /// <summary>Live machine, volume and IP ids; equal when they hold the same ids in the same order.</summary>
    private sealed record Resources(List<string> Machines, List<string> Volumes, List<string> Ips)
    {
        public bool Equals(Resources? other) =>
            other is not null && Machines.SequenceEqual(other.Machines) && Volumes.SequenceEqual(other.Volumes) && Ips.SequenceEqual(other.Ips);

        public override int GetHashCode() => HashCode.Combine(Machines.Count, Volumes.Count, Ips.Count);

        public override string ToString() =>
            $"machines [{string.Join(", ", Machines)}], volumes [{string.Join(", ", Volumes)}], ips [{string.Join(", ", Ips)}]";
    }

    /// <summary>One emulator and one silo on a fresh database for the whole class; each test names its own instances.</summary>
    public sealed class Cluster : IAsyncLifetime
    {
        private readonly PostgresDatabaseFixture _database = new();

        public FlyEmulator Emulator { get; private set; } = null!;

        internal SiloNode Silo { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            await _database.InitializeAsync();
            Emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions
            {
                TransitionDelay = TimeSpan.FromMilliseconds(50),
                RateLimitScale = 20,
                DestroyedRetention = TimeSpan.FromMilliseconds(300),
            });
            Silo = await SiloNode.StartAsync(
                _database.ConnectionString,
                "instance-faults",
                $"--FLY_API_TOKEN={Emulator.ApiToken}",
                $"--Fly:BaseAddress={Emulator.BaseAddress}",
                $"--Fly:AppName={AppName}",
                // Fast and countable: two create attempts, one retry of a GET, short backoffs, a breaker that stays closed.
                "--Fly:MaxCreateAttempts=2",
                "--Fly:MaxRetryAttempts=1",
                "--Fly:RetryBaseDelay=00:00:00.050",
                "--Fly:CircuitBreakerMinimumThroughput=10000",
                "--Orchestrator:Instances:SettlePollInterval=00:00:00.100");
        }

        public async Task DisposeAsync()
        {
            if (Silo is not null)
            {
                await Silo.DisposeAsync();
            }

            if (Emulator is not null)
            {
                await Emulator.DisposeAsync();
            }

            await _database.DisposeAsync();
        }
    }
}
