using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Npgsql;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>One silo on PostgreSQL (the postgres profile, so the admin key is required) for the authentication tests.</summary>
public sealed class AuthenticationFixture : IAsyncLifetime
{
    private readonly PostgresDatabaseFixture _database = new();

    internal SiloNode Silo { get; private set; } = null!;

    internal string ConnectionString => _database.ConnectionString;

    internal Task<string> CreateDatabaseAsync() => _database.CreateDatabaseAsync();

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        Silo = await SiloNode.StartAsync(_database.ConnectionString, "auth");
    }

    public async Task DisposeAsync()
    {
        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }

        await _database.DisposeAsync();
    }
}

/// <summary>
/// Tenants, API keys and isolation over real HTTP: every <c>/api</c> endpoint needs a key, keys are
/// stored hashed and can be revoked or expire, and one tenant cannot see or touch another's objects.
/// </summary>
public sealed class AuthenticationTests(AuthenticationFixture fixture) : IClassFixture<AuthenticationFixture>
{
    private const string Problems = "https://orchestrator.dev/problems/";

    private SiloNode Silo => fixture.Silo;

    public static TheoryData<string, string> TenantEndpoints => new()
    {
        { "GET", "/api/instances" },
        { "POST", "/api/instances" },
        { "GET", "/api/instances/box" },
        { "POST", "/api/instances/box/exec" },
        { "GET", "/api/workflows" },
        { "POST", "/api/workflows" },
        { "GET", "/api/workflows/schema" },
        { "GET", "/api/runs" },
        { "POST", "/api/runs" },
        { "GET", "/api/runs/run-0123456789abcdef0123/events" },
        { "GET", "/api/version" },
        { "GET", "/api/tenants" },
        { "POST", "/api/tenants" },
        { "GET", "/api/tenants/dev/keys" },
    };

    [Theory]
    [MemberData(nameof(TenantEndpoints))]
    public async Task WithoutAKeyEveryApiEndpointIs401WithAChallenge(string method, string path)
    {
        using var anonymous = Silo.NewClient(key: null);

        using var response = await anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? JsonContent.Create(new { }) : null });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer" && h.Parameter!.Contains("realm=\"orchestrator\"", StringComparison.Ordinal));
        var problem = await ProblemAsync(response);
        Assert.Equal(Problems + "unauthorized", problem.GetProperty("type").GetString());
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
    }

    [Theory]
    [InlineData("Bearer orch_dev_0123456789ab_" + "00000000000000000000000000000000000000000000000000000000000000ff", "the API key is not valid")]
    [InlineData("Bearer not-a-key", "the API key is malformed")]
    [InlineData("Bearer dev-key", "the API key is malformed")]
    [InlineData("Token abc", "the Authorization header must be 'Bearer <API key>'")]
    [InlineData("Bearer ", "the Authorization header must be 'Bearer <API key>'")]
    public async Task ABadKeyIs401SayingWhatIsWrongWithIt(string authorization, string reason)
    {
        using var client = Silo.NewClient(key: null);
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);

        using var response = await client.GetAsync("/api/runs");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Parameter!.Contains($"error_description=\"{reason}\"", StringComparison.Ordinal));
        Assert.Contains(reason, (await ProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthStaysOpenAndTheDashboardWantsTheAdminKey()
    {
        using var anonymous = Silo.NewClient(key: null);

        using (var live = await anonymous.GetAsync("/health/live"))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        // The silo's co-hosted gateway serves the API description too, without a key.
        using (var document = await anonymous.GetAsync("/openapi/v1.json"))
        {
            Assert.Equal(HttpStatusCode.OK, document.StatusCode);
            var paths = (await JsonAsync(document)).GetProperty("paths");
            Assert.True(paths.TryGetProperty("/api/tenants/{id}/keys", out _));
            Assert.DoesNotContain(paths.EnumerateObject(), p => p.Name.StartsWith("/dashboard", StringComparison.Ordinal));
        }

        using (var docs = await anonymous.GetAsync("/docs"))
        {
            Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        }

        using (var dashboard = await anonymous.GetAsync("/dashboard"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, dashboard.StatusCode);
            Assert.Contains(dashboard.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        }

        using (var asTenant = await Silo.Http.GetAsync("/dashboard"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, asTenant.StatusCode);
        }

        using var admin = Silo.NewClient(key: null);
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + ApiKeys.Admin)));
        // HttpClient drops credentials on redirects, so ask for the page itself.
        using var allowed = await admin.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task TheAdminKeyManagesTenantsAndTenantKeysCannot()
    {
        using var admin = Silo.NewClient(ApiKeys.Admin);
        var tenant = NewTenant();

        using (var created = await admin.PostAsJsonAsync("/api/tenants", new { id = tenant, display_name = "Acme", quotas = new { max_instances = 5 } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal($"/api/tenants/{tenant}", created.Headers.Location!.OriginalString);
            var body = await JsonAsync(created);
            Assert.Equal("Acme", body.GetProperty("display_name").GetString());
            Assert.Equal(5, body.GetProperty("quotas").GetProperty("max_instances").GetInt32());
            Assert.Equal(JsonValueKind.Null, body.GetProperty("quotas").GetProperty("max_concurrent_runs").ValueKind);
        }

        using (var again = await admin.PostAsJsonAsync("/api/tenants", new { id = tenant, display_name = "Acme" }))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        using (var renamed = await admin.PostAsJsonAsync("/api/tenants", new { id = tenant, display_name = "Other" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, renamed.StatusCode);
            Assert.Equal(Problems + "conflict", (await ProblemAsync(renamed)).GetProperty("type").GetString());
        }

        using (var quotas = await admin.PutAsJsonAsync($"/api/tenants/{tenant}/quotas", new { max_instances = 7, max_concurrent_runs = 3, max_run_depth = 2 }))
        {
            var body = await JsonAsync(quotas);
            Assert.Equal(7, body.GetProperty("quotas").GetProperty("max_instances").GetInt32());
            Assert.Equal(3, body.GetProperty("quotas").GetProperty("max_concurrent_runs").GetInt32());
            Assert.Equal(2, body.GetProperty("quotas").GetProperty("max_run_depth").GetInt32());
        }

        using (var missing = await admin.GetAsync("/api/tenants/nobody-here"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var asTenant = await Silo.Http.PostAsJsonAsync("/api/tenants", new { id = NewTenant() }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, asTenant.StatusCode);
            Assert.Equal(Problems + "forbidden", (await ProblemAsync(asTenant)).GetProperty("type").GetString());
        }

        using var adminOnTenantApi = await admin.GetAsync("/api/instances");
        Assert.Equal(HttpStatusCode.Forbidden, adminOnTenantApi.StatusCode);
        Assert.Contains("tenant's API key", (await ProblemAsync(adminOnTenantApi)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyIsShownOnceStoredHashedListedByPrefixAndStopsWorkingWhenRevoked()
    {
        using var admin = Silo.NewClient(ApiKeys.Admin);
        var tenant = NewTenant();
        var key = await ApiKeys.CreateTenantKeyAsync(Silo.BaseAddress, tenant, "ci");
        Assert.Matches($"^orch_{tenant}_[0-9a-f]{{12}}_[0-9a-f]{{64}}$", key);
        var keyId = key.Split('_')[2];

        using var client = Silo.NewClient(key);
        using (var works = await client.GetAsync("/api/runs"))
        {
            Assert.Equal(HttpStatusCode.OK, works.StatusCode);
        }

        using (var listed = await admin.GetAsync($"/api/tenants/{tenant}/keys"))
        {
            var text = await listed.Content.ReadAsStringAsync();
            Assert.DoesNotContain(key.Split('_')[3], text, StringComparison.Ordinal);
            var item = Assert.Single(JsonDocument.Parse(text).RootElement.GetProperty("items").EnumerateArray());
            Assert.Equal(keyId, item.GetProperty("id").GetString());
            Assert.Equal($"orch_{tenant}_{keyId}", item.GetProperty("prefix").GetString());
            Assert.Equal("ci", item.GetProperty("name").GetString());
            Assert.Equal("active", item.GetProperty("status").GetString());
        }

        // Only a salted hash reaches the database.
        await using (var connection = new NpgsqlConnection(fixture.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("select count(*) from orleansstorage where position(convert_to(@secret, 'UTF8') in payloadbinary) > 0", connection);
            command.Parameters.AddWithValue("secret", key.Split('_')[3]);
            Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
        }

        using (var revoked = await admin.DeleteAsync($"/api/tenants/{tenant}/keys/{keyId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }

        using (var replayed = await client.GetAsync("/api/runs"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
            Assert.Contains("revoked", (await ProblemAsync(replayed)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using (var twice = await admin.DeleteAsync($"/api/tenants/{tenant}/keys/{keyId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, twice.StatusCode);
        }

        using (var unknown = await admin.DeleteAsync($"/api/tenants/{tenant}/keys/0123456789ab"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using var after = await admin.GetAsync($"/api/tenants/{tenant}/keys");
        Assert.Equal("revoked", (await JsonAsync(after)).GetProperty("items")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task AnExpiredKeyIsRefused()
    {
        using var admin = Silo.NewClient(ApiKeys.Admin);
        var tenant = NewTenant();
        await ApiKeys.CreateTenantKeyAsync(Silo.BaseAddress, tenant);
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(2);
        using var created = await admin.PostAsJsonAsync($"/api/tenants/{tenant}/keys", new { name = "short", expires_at = expiresAt.ToString("O") });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = (await JsonAsync(created)).GetProperty("key").GetString()!;
        using var client = Silo.NewClient(key);

        using (var before = await client.GetAsync("/api/workflows"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await Task.Delay(expiresAt - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200));
        using var expired = await client.GetAsync("/api/workflows");
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Contains("expired", (await ProblemAsync(expired)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysAndRevocationsOutliveASiloRestart()
    {
        var connectionString = await fixture.CreateDatabaseAsync();
        string kept, revoked;
        await using (var first = await SiloNode.StartAsync(connectionString, "auth-restart"))
        {
            kept = await ApiKeys.CreateTenantKeyAsync(first.BaseAddress, "survivor");
            revoked = await ApiKeys.CreateTenantKeyAsync(first.BaseAddress, "survivor");
            using var admin = first.NewClient(ApiKeys.Admin);
            using var gone = await admin.DeleteAsync($"/api/tenants/survivor/keys/{revoked.Split('_')[2]}");
            Assert.Equal(HttpStatusCode.NoContent, gone.StatusCode);
        }

        await using var second = await SiloNode.StartAsync(connectionString, "auth-restart");
        using var keptClient = second.NewClient(kept);
        using var revokedClient = second.NewClient(revoked);
        using var ok = await keptClient.GetAsync("/api/runs");
        using var refused = await revokedClient.GetAsync("/api/runs");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task ATenantCannotSeeOrTouchAnotherTenantsObjects()
    {
        var owner = Silo.Http;
        var otherKey = await ApiKeys.CreateTenantKeyAsync(Silo.BaseAddress, NewTenant());
        using var other = Silo.NewClient(otherKey);

        var workflow = $"private-{Guid.NewGuid():N}"[..20];
        using (var registered = await owner.PostAsync("/api/workflows", new StringContent($"name: {workflow}\nsteps:\n  - id: wait\n    uses: wait_for_signal\n    with: {{ name: go, timeout: 5m }}\n", Encoding.UTF8, "application/yaml")))
        {
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        using var started = await owner.PostAsJsonAsync("/api/runs", new { workflow });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var runId = (await JsonAsync(started)).GetProperty("id").GetString()!;
        await Wait.UntilAsync(async () => (await JsonAsync(await owner.GetAsync($"/api/runs/{runId}"))).GetProperty("status").GetString() == "waiting", "the run to wait for its signal", TimeSpan.FromSeconds(30));

        var instance = $"priv-{Guid.NewGuid():N}"[..20];
        using (var made = await owner.PostAsJsonAsync("/api/instances", new { name = instance, region = "iad", size = "shared-cpu-1x" }))
        {
            Assert.True(made.IsSuccessStatusCode, await made.Content.ReadAsStringAsync());
        }

        // Every way of naming the owner's objects is 404 for the other tenant: nothing says they exist.
        foreach (var (method, path) in new[]
        {
            ("GET", $"/api/workflows/{workflow}"),
            ("GET", $"/api/workflows/{workflow}/versions/1"),
            ("GET", $"/api/runs/{runId}"),
            ("GET", $"/api/runs/{runId}/events"),
            ("GET", $"/api/runs/{runId}/steps/wait/output"),
            ("POST", $"/api/runs/{runId}/cancel"),
            ("POST", $"/api/runs/{runId}/signals/go"),
            ("POST", $"/api/runs/{runId}/retry"),
            ("GET", $"/api/instances/{instance}"),
            ("POST", $"/api/instances/{instance}/stop"),
            ("DELETE", $"/api/instances/{instance}"),
            ("POST", $"/api/instances/{instance}/exec"),
        })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (path.EndsWith("/exec", StringComparison.Ordinal))
            {
                request.Content = JsonContent.Create(new { command = "id" });
            }

            using var response = await other.SendAsync(request);
            Assert.True(HttpStatusCode.NotFound == response.StatusCode, $"{method} {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        using (var socket = new ClientWebSocket())
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {otherKey}");
            socket.Options.CollectHttpResponseDetails = true;
            var uri = new UriBuilder(Silo.BaseAddress) { Scheme = "ws", Path = $"/api/instances/{instance}/shell" }.Uri;
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None));
            Assert.Equal(HttpStatusCode.NotFound, socket.HttpStatusCode);
        }

        using (var socket = new ClientWebSocket())
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {otherKey}");
            socket.Options.CollectHttpResponseDetails = true;
            var uri = new UriBuilder(Silo.BaseAddress) { Scheme = "ws", Path = $"/api/instances/{instance}/exec/ws", Query = "command=id" }.Uri;
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None));
            Assert.Equal(HttpStatusCode.NotFound, socket.HttpStatusCode);
        }

        // Lists are the other tenant's own: empty.
        Assert.Equal(0, (await JsonAsync(await other.GetAsync("/api/runs"))).GetProperty("items").GetArrayLength());
        Assert.Equal(0, (await JsonAsync(await other.GetAsync("/api/instances"))).GetProperty("items").GetArrayLength());
        Assert.DoesNotContain(workflow, await other.GetStringAsync("/api/workflows"), StringComparison.Ordinal);

        // Nothing the other tenant sent changed the owner's objects.
        var run = await JsonAsync(await owner.GetAsync($"/api/runs/{runId}"));
        Assert.Equal("waiting", run.GetProperty("status").GetString());
        var box = await JsonAsync(await owner.GetAsync($"/api/instances/{instance}"));
        Assert.NotEqual("destroyed", box.GetProperty("desired_state").GetString());

        using (await owner.PostAsync($"/api/runs/{runId}/cancel", null))
        {
        }

        using (await owner.DeleteAsync($"/api/instances/{instance}"))
        {
        }
    }

    [Theory]
    [InlineData("""{"id":"Upper"}""", "id")]
    [InlineData("""{"id":"a_b"}""", "id")]
    [InlineData("""{"id":7}""", "id")]
    [InlineData("""{"display_name":"x"}""", "id")]
    [InlineData("""{"id":"ok-id","display_name":""}""", "display_name")]
    [InlineData("""{"id":"ok-id","display_name":"bell\u0007"}""", "display_name")]
    [InlineData("""{"id":"ok-id","role":"admin"}""", "role")]
    [InlineData("""{"id":"ok-id","quotas":{"max_instances":-1}}""", "quotas.max_instances")]
    [InlineData("""{"id":"ok-id","quotas":{"max_instances":"5"}}""", "quotas.max_instances")]
    [InlineData("""{"id":"ok-id","quotas":{"cpus":5}}""", "quotas.cpus")]
    [InlineData("""{"id":"ok-id","quotas":[]}""", "quotas")]
    [InlineData("""[]""", "body")]
    [InlineData("""{"id":""", "body")]
    public async Task BadTenantBodiesAre400NamingTheFieldAndCreateNothing(string body, string field)
    {
        using var admin = Silo.NewClient(ApiKeys.Admin);

        using var response = await admin.PostAsync("/api/tenants", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await ProblemAsync(response);
        Assert.Equal(Problems + "validation", problem.GetProperty("type").GetString());
        Assert.Equal(field, problem.GetProperty("field").GetString());
        using var notCreated = await admin.GetAsync("/api/tenants/ok-id");
        Assert.Equal(HttpStatusCode.NotFound, notCreated.StatusCode);
    }

    [Theory]
    [InlineData("""{"name":""}""", "name")]
    [InlineData("""{"name":5}""", "name")]
    [InlineData("""{"expires_in_days":0}""", "expires_in_days")]
    [InlineData("""{"expires_in_days":99999}""", "expires_in_days")]
    [InlineData("""{"expires_at":"yesterday"}""", "expires_at")]
    [InlineData("""{"expires_at":"2001-01-01T00:00:00Z"}""", "expires_at")]
    [InlineData("""{"expires_at":"2099-01-01T00:00:00Z","expires_in_days":3}""", "expires_at")]
    [InlineData("""{"scope":"all"}""", "scope")]
    public async Task BadKeyRequestsAre400NamingTheFieldAndIssueNothing(string body, string field)
    {
        using var admin = Silo.NewClient(ApiKeys.Admin);
        var tenant = NewTenant();
        await ApiKeys.CreateTenantKeyAsync(Silo.BaseAddress, tenant);

        using var response = await admin.PostAsync($"/api/tenants/{tenant}/keys", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await ProblemAsync(response)).GetProperty("field").GetString());
        using var listed = await admin.GetAsync($"/api/tenants/{tenant}/keys");
        Assert.Single((await JsonAsync(listed)).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task KeysForAMissingTenantOrAMalformedKeyIdAreRefused()
    {
        using var admin = Silo.NewClient(ApiKeys.Admin);

        using var missing = await admin.PostAsJsonAsync("/api/tenants/never-made/keys", new { name = "x" });
        using var badId = await admin.DeleteAsync("/api/tenants/dev/keys/NOT-HEX");

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
        Assert.Equal("keyId", (await ProblemAsync(badId)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task AnInstanceOverTheTenantsQuotaIs409AndDestroyingOneMakesRoom()
    {
        var tenant = NewTenant();
        var key = await ApiKeys.CreateTenantKeyAsync(Silo.BaseAddress, tenant);
        using var admin = Silo.NewClient(ApiKeys.Admin);
        using (await admin.PutAsJsonAsync($"/api/tenants/{tenant}/quotas", new { max_instances = 1 }))
        {
        }

        using var client = Silo.NewClient(key);
        using (var first = await client.PostAsJsonAsync("/api/instances", new { name = "quota-a", region = "iad", size = "shared-cpu-1x" }))
        {
            Assert.True(first.IsSuccessStatusCode, await first.Content.ReadAsStringAsync());
        }

        using (var second = await client.PostAsJsonAsync("/api/instances", new { name = "quota-b", region = "iad", size = "shared-cpu-1x" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
            var problem = await ProblemAsync(second);
            Assert.Equal(Problems + "quota-exceeded", problem.GetProperty("type").GetString());
            Assert.Equal("max_instances", problem.GetProperty("quota").GetString());
            Assert.Equal(1, problem.GetProperty("limit").GetInt32());
        }

        using (var missing = await client.GetAsync("/api/instances/quota-b"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        // The same create again is not a second instance.
        using (var repeat = await client.PostAsJsonAsync("/api/instances", new { name = "quota-a", region = "iad", size = "shared-cpu-1x" }))
        {
            Assert.True(repeat.IsSuccessStatusCode, await repeat.Content.ReadAsStringAsync());
        }

        using (var destroyed = await client.DeleteAsync("/api/instances/quota-a"))
        {
            Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
        }

        await Wait.UntilAsync(
            async () =>
            {
                using var retry = await client.PostAsJsonAsync("/api/instances", new { name = "quota-b", region = "iad", size = "shared-cpu-1x" });
                return retry.IsSuccessStatusCode;
            },
            "room for another instance after the first was destroyed",
            TimeSpan.FromSeconds(30));
        using (await client.DeleteAsync("/api/instances/quota-b"))
        {
        }
    }

    [Fact]
    public async Task ARunOverTheConcurrentRunQuotaIs429UntilOneFinishes()
    {
        var tenant = NewTenant();
        var key = await ApiKeys.CreateTenantKeyAsync(Silo.BaseAddress, tenant);
        using var admin = Silo.NewClient(ApiKeys.Admin);
        using (await admin.PutAsJsonAsync($"/api/tenants/{tenant}/quotas", new { max_concurrent_runs = 1 }))
        {
        }

        using var client = Silo.NewClient(key);
        using (await client.PostAsync("/api/workflows", new StringContent("name: gate\nsteps:\n  - id: wait\n    uses: wait_for_signal\n    with: { name: go, timeout: 5m }\n", Encoding.UTF8, "application/yaml")))
        {
        }

        using var first = await client.PostAsJsonAsync("/api/runs", new { workflow = "gate", idempotency_key = "first" });
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var firstId = (await JsonAsync(first)).GetProperty("id").GetString()!;

        using (var second = await client.PostAsJsonAsync("/api/runs", new { workflow = "gate", idempotency_key = "second" }))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
            Assert.NotNull(second.Headers.RetryAfter);
            var problem = await ProblemAsync(second);
            Assert.Equal(Problems + "quota-exceeded", problem.GetProperty("type").GetString());
            Assert.Equal("max_concurrent_runs", problem.GetProperty("quota").GetString());
        }

        // Repeating the first start is not a new run: it is answered, quota or not.
        using (var again = await client.PostAsJsonAsync("/api/runs", new { workflow = "gate", idempotency_key = "first" }))
        {
            Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
            Assert.Equal(firstId, (await JsonAsync(again)).GetProperty("id").GetString());
        }

        using (var signalled = await client.PostAsJsonAsync($"/api/runs/{firstId}/signals/go", new { }))
        {
            Assert.Equal(HttpStatusCode.Accepted, signalled.StatusCode);
        }

        await Wait.UntilAsync(
            async () =>
            {
                using var retry = await client.PostAsJsonAsync("/api/runs", new { workflow = "gate", idempotency_key = "second" });
                return retry.StatusCode == HttpStatusCode.Accepted;
            },
            "room for another run after the first finished",
            TimeSpan.FromSeconds(45));
        var runs = (await JsonAsync(await client.GetAsync("/api/runs"))).GetProperty("items");
        Assert.Equal(2, runs.GetArrayLength());
    }

    private static string NewTenant() => $"t-{Guid.NewGuid():N}"[..24];

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await JsonAsync(response);
    }
}
