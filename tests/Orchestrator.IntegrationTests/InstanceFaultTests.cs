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
    public async Task AMachineCreateFlyRejectsRemovesTheVolumeAndForgetsTheInstance()
    {
        var before = await LiveResourcesAsync();
        var volumesCreated = Count("Volumes_create");
        var volumesDeleted = Count("Volume_delete");
        Faults.Add(FaultRule.Failing("Machines_create", 422) with { Message = "invalid_argument: the test refuses this machine" });

        using var response = await CreateAsync(new { name = "refused", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } });

        var problem = await ReadAsync(response);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(InstanceProblems.FlyValidation, problem.GetProperty("type").GetString());
        Assert.Equal("invalid_argument: the test refuses this machine", problem.GetProperty("fly_message").GetString());
        Assert.Equal(422, problem.GetProperty("fly_status").GetInt32());
        Assert.Equal(1, Fired(volumesCreated));
        Assert.Equal(1, Fired(volumesDeleted));
        Assert.Equal(before, await LiveResourcesAsync());
        await AssertForgottenAsync("refused");
    }

    [Fact]
    public async Task AnIpAllocationFlyRejectsRemovesTheMachineAndTheVolume()
    {
        var before = await LiveResourcesAsync();
        var machinesCreated = Count("Machines_create");
        var machinesDeleted = Count("Machines_delete");
        var volumesDeleted = Count("Volume_delete");
        Faults.Add(FaultRule.Failing("IPAssignments_create", 422) with { Message = "invalid_argument: the test refuses this address" });

        using var response = await CreateAsync(new { name = "no-address", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" }, public_ip = true });

        var problem = await ReadAsync(response);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(InstanceProblems.FlyValidation, problem.GetProperty("type").GetString());
        Assert.Equal("invalid_argument: the test refuses this address", problem.GetProperty("fly_message").GetString());
        Assert.Equal(1, Fired(machinesCreated));
        Assert.Equal(1, Fired(machinesDeleted));
        Assert.Equal(1, Fired(volumesDeleted));
        Assert.Equal(before, await LiveResourcesAsync());
        await AssertForgottenAsync("no-address");
    }

    /// <summary>
    /// The create makes the machine but answers 408, and the provider's lookup for it fails too: the call ends
    /// 502 with the machine unknown to the instance. The retry with the same Idempotency-Key adopts it.
    /// </summary>
    [Fact]
    public async Task AnUnansweredCreateRetriedWithTheSameKeyEndsWithOneMachineAndOneVolume()
    {
        var before = await LiveResourcesAsync();
        Faults.Add(FaultRule.SucceedThenTimeout("Machines_create") with { Times = 1 });
        // The provider lists machines once before creating (let through) and once after the 408, which with
        // the silo's one retry of a GET is two requests (both refused).
        Faults.Add(FaultRule.Failing("Machines_list", 503, rate: 0.5) with { Times = 2, Seed = SeedFiring(false, true, true) });
        var body = new { name = "ambiguous", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } };

        using (var first = await CreateAsync(body, idempotencyKey: "retry-me"))
        {
            var problem = await ReadAsync(first);
            Assert.Equal(HttpStatusCode.BadGateway, first.StatusCode);
            Assert.Equal(InstanceProblems.Unavailable, problem.GetProperty("type").GetString());
        }

        Assert.All(Faults.Rules, r => Assert.Equal(r.Rule.Times, r.Fired));
        Faults.Clear();
        var pending = await GetAsync("ambiguous");
        Assert.Equal("creating", pending.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, pending.GetProperty("machine_id").ValueKind);
        Assert.Equal("service unavailable", pending.GetProperty("last_error").GetProperty("message").GetString());
        Assert.Equal("fly-error", pending.GetProperty("last_error").GetProperty("code").GetString());
        var orphan = Assert.Single(await LiveMachinesAsync("ambiguous"));
        var volumeId = pending.GetProperty("volume_id").GetString();
        Assert.NotNull(volumeId);

        using var retried = await CreateAsync(body, idempotencyKey: "retry-me");

        var created = await ReadAsync(retried);
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.Equal(orphan.Id, created.GetProperty("machine_id").GetString());
        Assert.Equal(volumeId, created.GetProperty("volume_id").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("last_error").ValueKind);
        Assert.Equal(orphan.Id, Assert.Single(await LiveMachinesAsync("ambiguous")).Id);
        var after = await LiveResourcesAsync();
        Assert.Equal(before.Volumes.Append(volumeId).Order(StringComparer.Ordinal), after.Volumes);
        Assert.Equal(before.Machines.Append(orphan.Id).Order(StringComparer.Ordinal), after.Machines);
    }

    /// <summary>
    /// Fly makes the public IP but its answer is lost (408): the create ends 502 with the address in no record. The
    /// retry with the same Idempotency-Key finds it by its tag and adopts it instead of allocating another, and the
    /// destroy releases it.
    /// </summary>
    [Fact]
    public async Task AnIpAllocationWhoseAnswerIsLostIsAdoptedByTheRetryAndReleasedByTheDestroy()
    {
        var before = await LiveResourcesAsync();
        var allocations = Count("IPAssignments_create");
        Faults.Add(FaultRule.SucceedThenTimeout("IPAssignments_create") with { Times = 1 });
        var body = new { name = "lost-address", region = "ams", size = "shared-cpu-1x", public_ip = true };

        using (var first = await CreateAsync(body, idempotencyKey: "lost-address"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, first.StatusCode);
        }

        var pending = await GetAsync("lost-address");
        Assert.Equal("creating", pending.GetProperty("state").GetString());
        Assert.Empty(pending.GetProperty("ips").EnumerateArray());
        var made = Assert.Single((await LiveResourcesAsync()).Ips.Except(before.Ips));

        using var retried = await CreateAsync(body, idempotencyKey: "lost-address");

        var created = await ReadAsync(retried);
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.Equal([made], created.GetProperty("ips").EnumerateArray().Select(ip => ip.GetString()));
        Assert.Equal(1, Fired(allocations));
        Assert.Equal(before.Ips.Append(made).Order(StringComparer.Ordinal), (await LiveResourcesAsync()).Ips);

        using var destroyed = await cluster.Silo.Http.DeleteAsync("/api/instances/lost-address");

        Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
        Assert.Equal(before.Ips, (await LiveResourcesAsync()).Ips);
    }

    /// <summary>The address whose allocation answered 408 is released by a destroy, without a retry ever recording it.</summary>
    [Fact]
    public async Task AnIpAllocationWhoseAnswerIsLostIsReleasedByADestroyWithoutARetry()
    {
        var before = await LiveResourcesAsync();
        Faults.Add(FaultRule.SucceedThenTimeout("IPAssignments_create") with { Times = 1 });

        using (var first = await CreateAsync(new { name = "stray-address", region = "ams", size = "shared-cpu-1x", public_ip = true }))
        {
            Assert.Equal(HttpStatusCode.BadGateway, first.StatusCode);
        }

        Assert.Single((await LiveResourcesAsync()).Ips.Except(before.Ips));

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
    public async Task ACapacityRefusalIs503FlyCapacityCarryingFlysMessageAndLeavesNothing(string operation, int status, string fixture)
    {
        var before = await LiveResourcesAsync();
        var (message, code) = LoadFlyError(fixture);
        var refusals = Faults.Add(FaultRule.Failing(operation, status) with { Message = message, ErrorCode = code });
        var name = $"full-{status}";

        using var response = await CreateAsync(new { name, region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } });

        var problem = await ReadAsync(response);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(InstanceProblems.Capacity, problem.GetProperty("type").GetString());
        Assert.Equal(message, problem.GetProperty("fly_message").GetString());
        Assert.Equal(status, problem.GetProperty("fly_status").GetInt32());
        // A capacity refusal is definite: the create is not repeated.
        Assert.Equal(1, Fired(refusals));
        Assert.Equal(before, await LiveResourcesAsync());
        await AssertForgottenAsync(name);
    }

    [Fact]
    public async Task ARateLimitThatOutlastsTheRetriesIs429FlyRateLimitedAndLeavesNothing()
    {
        var before = await LiveResourcesAsync();
        var volumesCreated = Count("Volumes_create");
        var limited = Faults.Add(FaultRule.Failing("Machines_create", 429));

        using var response = await CreateAsync(new { name = "throttled", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } });

        var problem = await ReadAsync(response);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(InstanceProblems.RateLimited, problem.GetProperty("type").GetString());
        Assert.Equal("rate limit exceeded", problem.GetProperty("fly_message").GetString());
        // The silo makes two create attempts (Fly:MaxCreateAttempts) before it gives up.
        Assert.Equal(2, Fired(limited));
        Assert.Equal(1, Fired(volumesCreated));
        Assert.Equal(before, await LiveResourcesAsync());
        await AssertForgottenAsync("throttled");
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

    private async Task<HttpResponseMessage> CreateAsync(object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/instances") { Content = JsonContent.Create(body) };
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

    /// <summary>A create Fly refused definitely leaves no instance: not by id, not in the listing.</summary>
    private async Task AssertForgottenAsync(string id)
    {
        using var response = await cluster.Silo.Http.GetAsync($"/api/instances/{id}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        // The index is told one-way, so the listing catches up in its own time.
        await Wait.UntilAsync(
            async () =>
            {
                using var list = await cluster.Silo.Http.GetAsync("/api/instances?limit=100");
                return (await ReadAsync(list)).GetProperty("items").EnumerateArray().All(i => i.GetProperty("id").GetString() != id);
            },
            $"instance {id} to leave the listing");
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
