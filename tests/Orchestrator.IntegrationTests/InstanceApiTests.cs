using System.Net;
using System.Text;
using System.Text.Json;
using Npgsql;
using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;
using Orchestrator.Gateway.Instances;
using Orchestrator.Grains.Instances;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The instance API end to end: real HTTP on Kestrel, a silo on PostgreSQL, and an emulator (outside the silo,
/// so that it outlives silo restarts) whose machines are real sandboxes.
/// </summary>
public sealed class InstanceApiTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private const string AppName = "instances-test";
    private FlyEmulator _emulator = null!;

    public async Task InitializeAsync() =>
        _emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(50), RateLimitScale = 20, DestroyedRetention = TimeSpan.FromMilliseconds(300) });

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    [Fact]
    public async Task AnInstanceWithAVolumeLivesThroughCreateStopStartRestartAndDestroy()
    {
        await using var silo = await StartSiloAsync(await database.CreateDatabaseAsync());
        using var created = await silo.Http.PostAsJsonAsync("/api/instances?wait=started", new
        {
            name = "box",
            region = "ams",
            size = new { cpus = 1, memory_mb = 512, cpu_kind = "shared" },
            env = new Dictionary<string, string> { ["GREETING"] = "hi" },
            volume = new { size_gb = 1, path = "/data" },
        });
        var body = await ReadAsync(created);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("started", body.GetProperty("state").GetString());
        Assert.StartsWith("ssh-ed25519 ", body.GetProperty("ssh_public_key").GetString(), StringComparison.Ordinal);
        var volumeId = body.GetProperty("volume_id").GetString();
        Assert.NotNull(volumeId);

        await TransitionAsync(silo, "box", "stop", "stopped");
        await TransitionAsync(silo, "box", "start", "started");
        await TransitionAsync(silo, "box", "restart", "started");

        // The list follows the instance a moment behind (the index is told one-way after each write).
        string[] listed = [];
        await Wait.UntilAsync(
            async () =>
            {
                using var list = await silo.Http.GetAsync("/api/instances?state=started&region=ams");
                listed = [.. (await ReadAsync(list)).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!)];
                return listed.Length > 0;
            },
            "the restarted instance to be listed as started");
        Assert.Equal(["box"], listed);

        using var destroyed = await silo.Http.DeleteAsync("/api/instances/box");
        Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
        Assert.Equal("destroyed", (await ReadAsync(destroyed)).GetProperty("state").GetString());
        var fly = silo.App.Services.GetRequiredService<IMachineProvider>();
        Assert.DoesNotContain(await fly.ListVolumesAsync(AppName), v => v.Id == volumeId && v.State is not ("destroyed" or "pending_destroy"));

        using var afterDestroy = await silo.Http.PostAsync("/api/instances/box/start", null);
        var problem = await ReadAsync(afterDestroy);
        Assert.Equal(HttpStatusCode.Conflict, afterDestroy.StatusCode);
        Assert.Equal(InstanceProblems.Destroyed, problem.GetProperty("type").GetString());
        using var missing = await silo.Http.GetAsync("/api/instances/never-made");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task TheSameRequestIdMakesOneMachineAndConcurrentTransitionsAllSucceed()
    {
        await using var silo = await StartSiloAsync(await database.CreateDatabaseAsync());
        var bodies = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/instances")
            {
                Content = JsonContent.Create(new { name = "twice", region = "ams", size = "shared-cpu-1x" }),
            };
            request.Headers.Add(InstanceEndpoints.IdempotencyKeyHeader, "request-1");
            using var response = await silo.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal("/api/instances/twice", response.Headers.Location?.ToString());
            return await ReadAsync(response);
        }));

        // Both were accepted as the same creation, which the instance carries on after answering.
        Assert.All(bodies, b => Assert.Equal("creating", b.GetProperty("state").GetString()));
        await Wait.UntilAsync(async () => (await GetAsync(silo, "twice")).GetProperty("state").GetString() == "started", "the instance to start");
        var fly = silo.App.Services.GetRequiredService<IMachineProvider>();
        var machines = (await fly.ListMachinesAsync(AppName)).Where(m => m.Config?.Metadata?.GetValueOrDefault("orchestrator_instance") == "twice").ToList();
        Assert.Single(machines);
        Assert.Equal(machines[0].Id, (await GetAsync(silo, "twice")).GetProperty("machine_id").GetString());

        var calls = Enumerable.Range(0, 6).Select(i => silo.Http.PostAsync($"/api/instances/twice/{(i % 2 == 0 ? "stop" : "start")}", null)).ToList();
        var responses = await Task.WhenAll(calls);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        foreach (var response in responses)
        {
            response.Dispose();
        }

        await Wait.UntilAsync(async () => (await GetAsync(silo, "twice")).GetProperty("state").GetString() is var s && s == (await GetAsync(silo, "twice")).GetProperty("desired_state").GetString(), "the instance to settle in its desired state");
    }

    [Fact]
    public async Task TheInstanceAndItsKeysSurviveASiloRestartAndThePrivateKeyIsNotInTheDatabase()
    {
        var connectionString = await database.CreateDatabaseAsync();
        var keys = new RecordingKeyFactory();
        string publicKey;
        await using (var before = await StartSiloAsync(connectionString, keys))
        {
            using var created = await before.Http.PostAsJsonAsync("/api/instances", new { name = "durable", region = "ord", size = "shared-cpu-1x" });
            Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
            publicKey = (await ReadAsync(created)).GetProperty("ssh_public_key").GetString()!;
        }

        await using var after = await StartSiloAsync(connectionString);
        var restored = await GetAsync(after, "durable");
        Assert.Equal(publicKey, restored.GetProperty("ssh_public_key").GetString());
        // The first silo stopped right after accepting the create: the new one carries the creation on.
        await Wait.UntilAsync(async () => (await GetAsync(after, "durable")).GetProperty("state").GetString() == "started", "the creation to be resumed and the machine to start");
        var machineId = (await GetAsync(after, "durable")).GetProperty("machine_id").GetString();
        Assert.NotNull(machineId);
        var fly = after.App.Services.GetRequiredService<IMachineProvider>();
        Assert.Equal([machineId], (await fly.ListMachinesAsync(AppName)).Where(m => m.Config?.Metadata?.GetValueOrDefault("orchestrator_instance") == "durable").Select(m => m.Id));

        // The instance's own key and the machine's host key: neither may be in the database in the clear.
        Assert.Equal(2, keys.PrivateKeys.Count);
        var rows = await ReadStorageRowsAsync(connectionString);
        Assert.NotEmpty(rows);
        foreach (var (pem, row) in keys.PrivateKeys.SelectMany(pem => rows.Select(row => (pem, row))))
        {
            var pemBody = string.Concat(pem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));
            var rawKey = Convert.FromBase64String(pemBody);
            var text = Encoding.UTF8.GetString(row);
            Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
            Assert.DoesNotContain(pemBody[..40], text, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(rawKey)[..40], text, StringComparison.Ordinal);
            // The 32-byte Ed25519 seed sits in the middle of the OpenSSH blob; no 32-byte window of the blob may appear.
            Assert.True(row.AsSpan().IndexOf(rawKey.AsSpan(rawKey.Length - 100, 32)) < 0);
        }
    }

    [Theory]
    [InlineData("""{"region":"ams","size":"shared-cpu-1x"}""", "name")]
    [InlineData("""{"name":"Bad_Name","region":"ams","size":"shared-cpu-1x"}""", "name")]
    [InlineData("""{"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","region":"ams","size":"shared-cpu-1x"}""", "name")]
    [InlineData("""{"name":"ok","region":"xyz","size":"shared-cpu-1x"}""", "region")]
    [InlineData("""{"name":"ok","size":"shared-cpu-1x"}""", "region")]
    [InlineData("""{"name":"ok","region":"ams","size":"huge"}""", "size")]
    [InlineData("""{"name":"ok","region":"ams"}""", "size")]
    [InlineData("""{"name":"ok","region":"ams","size":{"cpus":3,"memory_mb":512}}""", "size.cpus")]
    [InlineData("""{"name":"ok","region":"ams","size":{"cpus":1,"memory_mb":300}}""", "size.memory_mb")]
    [InlineData("""{"name":"ok","region":"ams","size":{"cpus":1,"memory_mb":512,"cpu_kind":"gpu"}}""", "size.cpu_kind")]
    [InlineData("""{"name":"ok","region":"ams","size":"shared-cpu-1x","volume":{"size_gb":0,"path":"/data"}}""", "volume.size_gb")]
    [InlineData("""{"name":"ok","region":"ams","size":"shared-cpu-1x","volume":{"size_gb":1,"path":"data"}}""", "volume.path")]
    [InlineData("""{"name":"ok","region":"ams","size":"shared-cpu-1x","env":{"1BAD":"x"}}""", "env.1BAD")]
    [InlineData("""{"name":"ok","region":"ams","size":"shared-cpu-1x","public_ip":"yes"}""", "public_ip")]
    [InlineData("""{"name":"ok","region":"ams","size":"shared-cpu-1x","colour":"red"}""", "colour")]
    [InlineData("""[1]""", "body")]
    public async Task EachBadInputIs400NamingTheField(string json, string field)
    {
        await using var silo = await SharedSiloAsync();
        using var response = await silo.Http.PostAsync("/api/instances", new StringContent(json, Encoding.UTF8, "application/json"));
        var problem = await ReadAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(InstanceProblems.Validation, problem.GetProperty("type").GetString());
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains(field, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadIdsAndQueryParametersAre400()
    {
        await using var silo = await SharedSiloAsync();
        foreach (var (url, field) in new[] { ("/api/instances/UPPER", "id"), ("/api/instances?limit=0", "limit"), ("/api/instances?region=zzz", "region") })
        {
            using var response = await silo.Http.GetAsync(url);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(field, (await ReadAsync(response)).GetProperty("field").GetString());
        }
    }

    private Task<SiloNode> SharedSiloAsync() => StartSiloAsync(database.ConnectionString);

    private Task<SiloNode> StartSiloAsync(string connectionString, RecordingKeyFactory? keys = null) =>
        SiloNode.StartAsync(
            connectionString,
            "instances",
            keys is null ? null : services => services.AddSingleton<IInstanceKeyFactory>(keys),
            $"--FLY_API_TOKEN={_emulator.ApiToken}",
            $"--Fly:BaseAddress={_emulator.BaseAddress}",
            $"--Fly:AppName={AppName}",
            "--Orchestrator:Instances:SettlePollInterval=00:00:00.100");

    private static async Task TransitionAsync(SiloNode silo, string id, string action, string expected)
    {
        using var response = await silo.Http.PostAsync($"/api/instances/{id}/{action}", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await Wait.UntilAsync(async () => (await GetAsync(silo, id)).GetProperty("state").GetString() == expected, $"instance {id} to be {expected} after {action}");
    }

    private static async Task<JsonElement> GetAsync(SiloNode silo, string id)
    {
        using var response = await silo.Http.GetAsync($"/api/instances/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadAsync(response);
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());

    private static async Task<List<byte[]>> ReadStorageRowsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT row_to_json(s)::text FROM orleansstorage s WHERE graintypestring ILIKE '%instance%'", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<byte[]>();
        while (await reader.ReadAsync())
        {
            rows.Add(Encoding.UTF8.GetBytes(reader.GetString(0)));
        }

        await using var raw = new NpgsqlCommand("SELECT payloadbinary FROM orleansstorage WHERE graintypestring ILIKE '%instance%' AND payloadbinary IS NOT NULL", connection);
        await reader.DisposeAsync();
        await using var rawReader = await raw.ExecuteReaderAsync();
        while (await rawReader.ReadAsync())
        {
            rows.Add((byte[])rawReader[0]);
        }

        return rows;
    }
}
