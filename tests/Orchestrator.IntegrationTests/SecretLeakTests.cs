using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using Orchestrator.Fly.Emulator;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// A full workflow run through the HTTP API with a tenant key (a machine created, a command run on it with secrets and a
/// secret input in its environment and command line, an HTTP check, the machine destroyed), then every place a secret could end up is
/// searched for every secret: the log, the run's events, every API answer and every row of every table.
/// </summary>
public sealed class SecretLeakTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>
{
    private const string AppName = "secret-leak";

    [Fact]
    public async Task NoSecretReachesTheLogTheEventsTheApiOrTheDatabase()
    {
        var flyToken = "fly-token-" + Hex(16);
        var tokenSecret = "tok-" + Hex(8);
        var passwordSecret = "pw-" + Hex(8);
        var pinSecret = "pin-" + Hex(8);
        var tenantSecret = "ts-" + Hex(8);
        var shadowedSecret = "shadowed-" + Hex(8);
        var keys = new RecordingKeyFactory();
        await using var emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions
        {
            RequiredToken = flyToken,
            TransitionDelay = TimeSpan.FromMilliseconds(50),
            RateLimitScale = 20,
            DestroyedRetention = TimeSpan.FromMilliseconds(300),
        });
        await using var silo = await SiloNode.StartAsync(
            database.ConnectionString,
            "secret-leak",
            services => services.AddSingleton<Orchestrator.Grains.Instances.IInstanceKeyFactory>(keys),
            $"--FLY_API_TOKEN={flyToken}",
            $"--Fly:BaseAddress={emulator.BaseAddress}",
            $"--Fly:AppName={AppName}",
            "--Orchestrator:Instances:SettlePollInterval=00:00:00.100",
            "--Orchestrator:Ssh:ConnectRetryWindow=00:00:01",
            // The run checks the silo's own /health/live on 127.0.0.1, which http.check refuses by default (loopback).
            "--Orchestrator:Workflows:HttpCheck:AllowedNetworks:0=127.0.0.0/8");
        var tenantKey = await ApiKeys.CreateTenantKeyAsync(silo.BaseAddress, "leak-check");
        var answers = new List<string>();
        using var http = silo.NewClient(tenantKey);

        var yaml = $$$"""
            name: leak-check
            inputs:
              pin: { type: string, secret: true }
            steps:
              - id: make
                uses: instance.create
                with: { name: "leak-${{ run.id }}", region: ams, size: shared-cpu-1x }
              - id: use
                uses: ssh.exec
                with:
                  instance: "${{ steps.make.outputs.id }}"
                  command: "echo t=${{ secrets.TOKEN }}; echo p=$PASSWORD; echo i=${{ inputs.pin }}; echo s=${{ secrets.STORED }}; echo n=${#STORED}"
                  env: { PASSWORD: "${{ secrets.PASSWORD }}", STORED: "${{ secrets.STORED }}" }
                outputs: { out: stdout }
              - id: live
                uses: http.check
                with: { url: "{{{silo.BaseAddress}}}health/live", expect_status: 200, interval: 50ms, timeout: 10s }
            finally:
              - id: cleanup
                uses: instance.destroy
                with: { instance: "${{ steps.make.outputs.id }}" }
            """;
        await SendAsync(http, answers, HttpMethod.Post, "/api/workflows", new StringContent(yaml, Encoding.UTF8, "application/yaml"), HttpStatusCode.Created);
        // A tenant secret the workflow reads, and one the run's own secrets override.
        await SendAsync(http, answers, HttpMethod.Put, "/api/secrets/STORED", JsonContent.Create(new { value = tenantSecret }), HttpStatusCode.Created);
        await SendAsync(http, answers, HttpMethod.Put, "/api/secrets/TOKEN", JsonContent.Create(new { value = shadowedSecret }), HttpStatusCode.Created);
        await SendAsync(http, answers, HttpMethod.Get, "/api/secrets", null, HttpStatusCode.OK);
        var started = await SendAsync(http, answers, HttpMethod.Post, "/api/runs", JsonContent.Create(new
        {
            workflow = "leak-check",
            inputs = new { pin = pinSecret },
            secrets = new Dictionary<string, string> { ["TOKEN"] = tokenSecret, ["PASSWORD"] = passwordSecret },
        }), HttpStatusCode.Accepted);
        var runId = JsonDocument.Parse(started).RootElement.GetProperty("id").GetString()!;

        JsonElement run = default;
        await Wait.UntilAsync(
            async () =>
            {
                run = JsonDocument.Parse(await SendAsync(http, answers, HttpMethod.Get, $"/api/runs/{runId}", null, HttpStatusCode.OK)).RootElement.Clone();
                return run.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled";
            },
            "the run to end",
            TimeSpan.FromSeconds(120));
        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        var use = run.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("id").GetString() == "use");
        // The command really saw both secrets (masked on the way out), so the search below is not vacuous.
        Assert.Equal($"t=***\np=***\ni=***\ns=***\nn={tenantSecret.Length}", use.GetProperty("outputs").GetProperty("out").GetString());
        Assert.Equal("***", run.GetProperty("inputs").GetProperty("pin").GetString());
        await SendAsync(http, answers, HttpMethod.Get, $"/api/runs/{runId}/steps/use/output", null, HttpStatusCode.OK);
        await SendAsync(http, answers, HttpMethod.Get, "/api/instances", null, HttpStatusCode.OK);
        await SendAsync(http, answers, HttpMethod.Get, "/api/runs", null, HttpStatusCode.OK);
        await SendAsync(http, answers, HttpMethod.Get, "/api/workflows/leak-check/versions/1", null, HttpStatusCode.OK);

        using var events = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{runId}/events");
        events.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var eventStream = await http.SendAsync(events, HttpCompletionOption.ResponseHeadersRead, stop.Token);
        var eventLines = (await eventStream.Content.ReadAsStringAsync(stop.Token)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(eventLines.Length >= 8, $"only {eventLines.Length} events: {string.Join("\n", eventLines)}");

        Assert.NotEmpty(keys.PrivateKeys);
        var secrets = new List<(string What, string Value)>
        {
            ("the Fly API token", flyToken),
            ("the admin key", ApiKeys.Admin),
            ("the tenant API key's secret", tenantKey.Split('_')[3]),
            ("the secrets encryption key", SiloNode.EncryptionKey),
            ("workflow secret TOKEN", tokenSecret),
            ("workflow secret PASSWORD", passwordSecret),
            ("secret input pin", pinSecret),
            ("tenant secret STORED", tenantSecret),
            ("tenant secret TOKEN, overridden by the run's own", shadowedSecret),
        };
        secrets.AddRange(keys.Fingerprints().Select(f => ("the instance's SSH private key", f)));

        var leaks = new List<string>();
        foreach (var (what, value) in secrets)
        {
            leaks.AddRange(silo.Log.Lines.Where(l => l.Contains(value, StringComparison.Ordinal)).Select(l => $"{what} in the log: {Shorten(l)}"));
            leaks.AddRange(eventLines.Where(l => l.Contains(value, StringComparison.Ordinal)).Select(l => $"{what} in a run event: {Shorten(l)}"));
            leaks.AddRange(answers.Where(a => a.Contains(value, StringComparison.Ordinal)).Select(a => $"{what} in an API answer: {Shorten(a)}"));
        }

        leaks.AddRange(await FindInDatabaseAsync(database.ConnectionString, secrets));
        Assert.True(leaks.Count == 0, string.Join("\n", leaks));
    }

    /// <summary>Every text-like and bytea column of every row of every table, searched for every secret.</summary>
    private static async Task<List<string>> FindInDatabaseAsync(string connectionString, IReadOnlyList<(string What, string Value)> secrets)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var columns = new List<(string Schema, string Table, string Column, string Type)>();
        await using (var list = new NpgsqlCommand(
            """
            select c.table_schema, c.table_name, c.column_name, c.data_type
            from information_schema.columns c
            join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
            where c.table_schema not in ('pg_catalog', 'information_schema')
              and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'xml', 'ARRAY')
            """,
            connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                columns.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
            }
        }

        Assert.Contains(columns, c => c.Table == "orleansstorage" && c.Type == "bytea");
        Assert.Contains(columns, c => c.Table == "orchestrator_run_events");
        var leaks = new List<string>();
        foreach (var (schema, table, column, type) in columns)
        {
            var name = $"\"{schema}\".\"{table}\"";
            var condition = type == "bytea"
                ? $"position(convert_to(@s, 'UTF8') in \"{column}\") > 0"
                : $"strpos(\"{column}\"::text, @s) > 0";
            foreach (var (what, value) in secrets)
            {
                // Grain state rows say which grain holds the leak.
                var rows = table == "orleansstorage" ? "string_agg(graintypestring || ' ' || coalesce(grainidextensionstring, ''), ', ')" : "count(*)::text";
                await using var command = new NpgsqlCommand($"select {rows} from {name} where {condition} having count(*) > 0", connection);
                command.Parameters.AddWithValue("s", value);
                if (await command.ExecuteScalarAsync() is string found)
                {
                    leaks.Add($"{what} in {name}.\"{column}\": {found}");
                }
            }
        }

        return leaks;
    }

    private static async Task<string> SendAsync(HttpClient http, List<string> answers, HttpMethod method, string path, HttpContent? content, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        answers.Add(text);
        Assert.True(response.StatusCode == expected, $"{method} {path} answered {(int)response.StatusCode}: {text}");
        return text;
    }

    private static string Hex(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "…" : text;
}
