using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Npgsql;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// One silo on PostgreSQL (embedded emulator) for the hostile-input suite, with a baseline instance, workflow and
/// waiting run made before any hostile request, a second tenant to attack from and a revoked key to replay. Every
/// response any of its clients receives is recorded, so the suite can prove none was a 5xx.
/// </summary>
public sealed class HostileInputFixture : IAsyncLifetime
{
    public const string BaselineInstance = "baseline";
    public const string BaselineWorkflow = "baseline";
    public const string OtherTenant = "hostile-other";
    public const string RevokedTenant = "hostile-revoked";

    private readonly PostgresDatabaseFixture _database = new();
    private readonly Dictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);
    private Task<HostileSuite>? _suite;

    internal SiloNode Silo { get; private set; } = null!;

    /// <summary>Method, path and status of every response the fixture's clients received, hostile or not.</summary>
    internal ConcurrentQueue<(string Request, int Status)> Responses { get; } = new();

    /// <summary>The baseline run: waiting for a signal that only a hostile request could send.</summary>
    internal string RunId { get; private set; } = "";

    /// <summary>Key id of the dev tenant's key, which other callers try to revoke.</summary>
    internal string TenantKeyId { get; private set; } = "";

    internal string TenantKey => Silo.TenantKey;

    internal string RevokedKey { get; private set; } = "";

    /// <summary>What the API and the database said before the hostile requests.</summary>
    internal IReadOnlyDictionary<string, string> Before { get; private set; } = new Dictionary<string, string>();

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        Silo = await SiloNode.StartAsync(_database.ConnectionString, "hostile");
        TenantKeyId = Silo.TenantKey.Split('_')[2];
        var otherKey = await ApiKeys.CreateTenantKeyAsync(Silo.BaseAddress, OtherTenant);
        RevokedKey = await ApiKeys.CreateTenantKeyAsync(Silo.BaseAddress, RevokedTenant);
        _clients["tenant"] = NewClient(Silo.TenantKey);
        _clients["other"] = NewClient(otherKey);
        _clients["admin"] = NewClient(ApiKeys.Admin);
        _clients["revoked"] = NewClient(RevokedKey);
        _clients["none"] = NewClient(key: null);

        using (var revoked = await Client("admin").DeleteAsync(new Uri($"/api/tenants/{RevokedTenant}/keys/{RevokedKey.Split('_')[2]}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }

        var dev = Client("tenant");
        using (var instance = await dev.PostAsJsonAsync("/api/instances?wait=started", new { name = BaselineInstance, region = "ams", size = "shared-cpu-1x" }))
        {
            Assert.True(instance.StatusCode == HttpStatusCode.Created, await instance.Content.ReadAsStringAsync());
        }

        var yaml = $"name: {BaselineWorkflow}\nsteps:\n  - id: wait\n    uses: wait_for_signal\n    with: {{ name: go, timeout: 1h }}\n";
        using (var workflow = await dev.PostAsync(new Uri("/api/workflows", UriKind.Relative), new StringContent(yaml, Encoding.UTF8, "application/yaml")))
        {
            Assert.True(workflow.StatusCode == HttpStatusCode.Created, await workflow.Content.ReadAsStringAsync());
        }

        using (var run = await dev.PostAsJsonAsync("/api/runs", new { workflow = BaselineWorkflow }))
        {
            var text = await run.Content.ReadAsStringAsync();
            Assert.True(run.StatusCode == HttpStatusCode.Accepted, text);
            RunId = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
        }

        await Wait.UntilAsync(
            async () => (await JsonAsync(dev, $"/api/runs/{RunId}")).GetProperty("status").GetString() == "waiting",
            "the baseline run to wait for its signal",
            TimeSpan.FromSeconds(30));
        Before = await SnapshotAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    /// <summary>
    /// Every hostile case sent once, one at a time in ordinal order of name, then the snapshot taken after the last.
    /// Started by whichever test asks first and shared by all, so no test's outcome depends on which tests ran
    /// before it, in what order, or whether the others ran at all.
    /// </summary>
    internal Task<HostileSuite> SuiteAsync()
    {
        lock (_clients)
        {
            return _suite ??= SendEveryCaseAsync();
        }
    }

    private async Task<HostileSuite> SendEveryCaseAsync()
    {
        var answers = new Dictionary<string, HostileAnswer>(StringComparer.Ordinal);
        foreach (var name in HostileCases.All.Keys.Order(StringComparer.Ordinal))
        {
            var hostile = HostileCases.All[name];
            try
            {
                answers[name] = await SendAsync(hostile);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Kept as this case's answer (no status), so it fails this case alone.
                answers[name] = new HostileAnswer(0, null, ex.ToString(), $"{hostile.Method} {hostile.Path}");
            }
        }

        return new HostileSuite(answers, await SnapshotAsync());
    }

    /// <summary>The client of <paramref name="caller"/>: tenant, other, admin, revoked or none.</summary>
    internal HttpClient Client(string caller) => _clients[caller];

    /// <summary>Sends a hostile case as it is written; answers the status, the media type and the body text.</summary>
    internal async Task<HostileAnswer> SendAsync(HostileCase hostile)
    {
        var path = hostile.Path.Replace("{run}", RunId, StringComparison.Ordinal).Replace("{tenant-key-id}", TenantKeyId, StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(hostile.Method), new Uri(path, UriKind.Relative));
        if (hostile.Body is { } body)
        {
            // As curl does: the server can refuse an oversized body before it is sent, instead of
            // closing the connection under a client still writing it.
            request.Headers.ExpectContinue = true;
            request.Content = new ByteArrayContent(body());
            if (hostile.ContentType is { } contentType)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        foreach (var (name, value) in hostile.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value.Replace("{tenant-key}", TenantKey, StringComparison.Ordinal));
        }

        using var response = await Client(hostile.Caller).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new HostileAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, text, $"{hostile.Method} {path}");
    }

    /// <summary>
    /// Everything that must survive the suite unchanged: the baseline objects (revision, version, status), every
    /// list of both tenants, every tenant's keys, the tenants the cases tried to create, and row counts per grain
    /// type and table in the database.
    /// </summary>
    internal async Task<IReadOnlyDictionary<string, string>> SnapshotAsync()
    {
        var facts = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var dev = Client("tenant");
        var admin = Client("admin");

        var instance = await JsonAsync(dev, $"/api/instances/{BaselineInstance}");
        foreach (var field in new[] { "state", "desired_state", "machine_id", "region", "image", "ssh_public_key", "created_at", "volume_id" })
        {
            facts[$"instance.{field}"] = instance.GetProperty(field).ToString();
        }

        var workflow = await JsonAsync(dev, $"/api/workflows/{BaselineWorkflow}");
        facts["workflow.latest_version"] = workflow.GetProperty("latest_version").ToString();
        facts["workflow.versions"] = string.Join(",", workflow.GetProperty("versions").EnumerateArray().Select(v => $"{v.GetProperty("version")}:{v.GetProperty("sha256")}"));

        var run = await JsonAsync(dev, $"/api/runs/{RunId}");
        foreach (var field in new[] { "status", "version", "updated_at", "last_sequence", "inputs", "error" })
        {
            facts[$"run.{field}"] = run.GetProperty(field).ToString();
        }

        facts["run.steps"] = string.Join(",", run.GetProperty("steps").EnumerateArray().Select(s => $"{s.GetProperty("id")}:{s.GetProperty("status")}:{s.GetProperty("attempts")}"));

        foreach (var caller in new[] { "tenant", "other" })
        {
            var client = Client(caller);
            facts[$"{caller}.instances"] = Ids(await JsonAsync(client, "/api/instances?limit=100"), "id");
            facts[$"{caller}.workflows"] = Ids(await JsonAsync(client, "/api/workflows"), "name");
            facts[$"{caller}.runs"] = Ids(await JsonAsync(client, "/api/runs?limit=100"), "id");
        }

        foreach (var tenant in new[] { SiloNode.Tenant, OtherTenant, RevokedTenant })
        {
            var info = await JsonAsync(admin, $"/api/tenants/{tenant}");
            facts[$"tenant.{tenant}"] = $"{info.GetProperty("revision")} {info.GetProperty("display_name")} {info.GetProperty("quotas")}";
            var keys = await JsonAsync(admin, $"/api/tenants/{tenant}/keys");
            facts[$"tenant.{tenant}.keys"] = string.Join(",", keys.GetProperty("items").EnumerateArray().Select(k => $"{k.GetProperty("id")}:{k.GetProperty("name")}:{k.GetProperty("status")}"));
        }

        foreach (var tenant in HostileCases.TenantIdsTried)
        {
            using var response = await admin.GetAsync(new Uri($"/api/tenants/{tenant}", UriKind.Relative));
            facts[$"tenant.{tenant}"] = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        }

        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        foreach (var (name, sql) in new[]
        {
            ("db.orleansstorage", "select graintypestring || '=' || count(*) from orleansstorage group by graintypestring order by graintypestring"),
            ("db.orchestrator_runs", "select tenant || '/' || run_id || '=' || status from orchestrator_runs order by 1"),
            ("db.orchestrator_run_events", "select run_key || '=' || count(*) from orchestrator_run_events group by run_key order by 1"),
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new List<string>();
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetString(0));
            }

            facts[name] = string.Join(",", rows);
        }

        return facts;
    }

    private static string Ids(JsonElement list, string field) =>
        string.Join(",", list.GetProperty("items").EnumerateArray().Select(i => i.GetProperty(field).GetString()).Order(StringComparer.Ordinal));

    private static async Task<JsonElement> JsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private HttpClient NewClient(string? key)
    {
        // UTF-8 header values let the suite send non-ASCII request ids and keys (by default HttpClient refuses them).
        var sockets = new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 };
        var client = new HttpClient(new RecordingHandler(Responses) { InnerHandler = sockets }) { BaseAddress = Silo.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(key);
        }

        return client;
    }

    /// <summary>Keeps the status of every response that passes through it.</summary>
    private sealed class RecordingHandler(ConcurrentQueue<(string Request, int Status)> responses) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            responses.Enqueue(($"{request.Method} {request.RequestUri}", (int)response.StatusCode));
            return response;
        }
    }
}

/// <summary>What the silo answered to one hostile case.</summary>
internal sealed record HostileAnswer(int Status, string? MediaType, string Body, string Request);

/// <summary>The answer to every hostile case, by name, and the snapshot taken after the last of them.</summary>
internal sealed record HostileSuite(IReadOnlyDictionary<string, HostileAnswer> Answers, IReadOnlyDictionary<string, string> After);
