using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestrator.Fly.Emulator;
using Orchestrator.Gateway.Instances;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// One silo on PostgreSQL, an emulator outside it (its machines are real sandboxes with real sshd), and one started
/// instance that the exec tests share.
/// </summary>
public sealed class ExecFixture : IAsyncLifetime
{
    public const string AppName = "exec-test";
    public const string Box = "box";

    private readonly PostgresDatabaseFixture _database = new();

    public FlyEmulator Emulator { get; private set; } = null!;

    internal SiloNode Silo { get; private set; } = null!;

    internal RecordingKeyFactory Keys { get; } = new();

    public PostgresDatabaseFixture Database => _database;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        Emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(50), RateLimitScale = 20, DestroyedRetention = TimeSpan.FromMilliseconds(300) });
        Silo = await StartSiloAsync(_database.ConnectionString, Keys);
        await CreateStartedAsync(Silo, Box);
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Emulator.DisposeAsync();
        await _database.DisposeAsync();
    }

    internal Task<SiloNode> StartSiloAsync(string connectionString, RecordingKeyFactory? keys = null, params string[] extraArguments) =>
        SiloNode.StartAsync(
            connectionString,
            "exec",
            keys is null ? null : services => services.AddSingleton<Orchestrator.Grains.Instances.IInstanceKeyFactory>(keys),
            [.. SiloArguments(), .. extraArguments]);

    /// <summary>What every silo of this fixture is started with, in-process or as a process of its own.</summary>
    internal IEnumerable<string> SiloArguments() =>
    [
        $"--FLY_API_TOKEN={Emulator.ApiToken}",
        $"--Fly:BaseAddress={Emulator.BaseAddress}",
        $"--Fly:AppName={AppName}",
        "--Orchestrator:Instances:SettlePollInterval=00:00:00.100",
        "--Orchestrator:Ssh:ConnectRetryWindow=00:00:01",
        // The workflow tests on this fixture check the silo's own /health/live on 127.0.0.1, which http.check
        // refuses by default (loopback); the emulator's machines are loopback sandboxes too.
        "--Orchestrator:Workflows:HttpCheck:AllowedNetworks:0=127.0.0.0/8",
    ];

    internal static async Task<JsonElement> CreateStartedAsync(SiloNode silo, string name)
    {
        using var created = await silo.Http.PostAsJsonAsync("/api/instances?wait=started", new { name, region = "ams", size = "shared-cpu-1x" });
        var body = JsonSerializer.Deserialize<JsonElement>(await created.Content.ReadAsStringAsync());
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"create {name}: {(int)created.StatusCode} {body}");
        return body;
    }
}

/// <summary>
/// <c>POST /api/instances/{id}/exec</c> end to end: real HTTP on Kestrel, the session grain, the pooled SSH
/// connection and the machine's real sshd.
/// </summary>
public sealed class ExecApiTests(ExecFixture fixture) : IClassFixture<ExecFixture>
{
    private HttpClient Http => fixture.Silo.Http;

    [Fact]
    public async Task OutputStreamsAsNdjsonWithStdoutAndStderrApartAndTheExitCodeLast()
    {
        var (lines, exit) = await ExecNdjsonAsync(ExecFixture.Box, new { command = "echo out; echo err >&2; exit 3" });

        Assert.Equal("out\n", Text(lines, "stdout"));
        Assert.Equal("err\n", Text(lines, "stderr"));
        Assert.Equal(3, exit.GetProperty("exit_code").GetInt32());
        Assert.Equal(JsonValueKind.Null, exit.GetProperty("signal").ValueKind);
        Assert.False(exit.GetProperty("timed_out").GetBoolean());
        Assert.True(exit.GetProperty("duration_ms").GetInt64() >= 0);
        Assert.Equal(4, exit.GetProperty("stdout_bytes").GetInt64());
    }

    [Fact]
    public async Task EveryExitCodeFrom0To255ComesBackExactly()
    {
        var codes = Enumerable.Range(0, 256).ToArray();
        var seen = new int[256];
        await Parallel.ForEachAsync(codes, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (code, ct) =>
        {
            var result = await ExecBufferedAsync(ExecFixture.Box, new { command = $"exit {code}" });
            seen[code] = result.GetProperty("exit_code").GetInt32();
        });

        Assert.Equal(codes, seen);
    }

    [Fact]
    public async Task StdinEnvAndCwdReachTheCommandVerbatim()
    {
        const string hostile = "a b 'c' \"d\" $(touch /tmp/pwned) `id` ; | & \\ \n second line";
        var result = await ExecBufferedAsync(ExecFixture.Box, new
        {
            command = "cat; printf '[%s]' \"$GREETING\"; pwd; test -e /tmp/pwned && echo PWNED || true",
            stdin = "from stdin\n",
            env = new Dictionary<string, string> { ["GREETING"] = hostile },
            cwd = "/usr/bin",
        });

        Assert.Equal(0, result.GetProperty("exit_code").GetInt32());
        Assert.Equal($"from stdin\n[{hostile}]/usr/bin\n", result.GetProperty("stdout").GetString());
    }

    [Fact]
    public async Task BinaryOutputIsBase64AndUtf8SplitAcrossChunksStaysText()
    {
        var (binary, _) = await ExecNdjsonAsync(ExecFixture.Box, new { command = @"printf '\377\376\000abc'" });
        var bytes = binary.Where(l => l.GetProperty("stream").GetString() == "stdout")
            .SelectMany(l => l.TryGetProperty("data_base64", out var b) ? b.GetBytesFromBase64() : Encoding.UTF8.GetBytes(l.GetProperty("data").GetString()!))
            .ToArray();
        Assert.Equal(new byte[] { 0xFF, 0xFE, 0x00, (byte)'a', (byte)'b', (byte)'c' }, bytes);
        Assert.Contains(binary, l => l.TryGetProperty("data_base64", out _));

        // 3-byte characters over several 32 KB chunks: 32768 is not a multiple of 3, so chunks split characters.
        var (text, _) = await ExecNdjsonAsync(ExecFixture.Box, new { command = "i=0; while [ $i -lt 30000 ]; do printf '€'; i=$((i+1)); done" });
        Assert.All(text, l => Assert.False(l.TryGetProperty("data_base64", out _), "valid UTF-8 must never be sent as base64"));
        Assert.Equal(new string('€', 30000), Text(text, "stdout"));
    }

    [Fact]
    public async Task ATimeoutKillsTheCommandAndLeavesNoProcess()
    {
        var (_, exit) = await ExecNdjsonAsync(ExecFixture.Box, new { command = "sleep 31.25", timeout_seconds = 1 });

        Assert.True(exit.GetProperty("timed_out").GetBoolean());
        Assert.Equal(JsonValueKind.Null, exit.GetProperty("exit_code").ValueKind);
        await AssertNoProcessAsync("sleep 31.25");
    }

    [Fact]
    public async Task ClosingTheConnectionKillsTheRemoteCommand()
    {
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/instances/box/exec") { Content = JsonContent.Create(new { command = "echo started; sleep 32.75" }) })
        using (var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Contains("started", await reader.ReadLineAsync(), StringComparison.Ordinal);
            await WaitForProcessAsync("sleep 32.75", present: true);
        }

        // Disposing the response aborted the request: the remote process group must be gone.
        await WaitForProcessAsync("sleep 32.75", present: false);
    }

    [Fact]
    public async Task ServerSentEventsCarryTheSameObjects()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/instances/box/exec") { Content = JsonContent.Create(new { command = "echo hi; echo oops >&2; exit 5" }) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split('\n'))
            .Select(lines => (Name: lines[0]["event: ".Length..], Data: JsonSerializer.Deserialize<JsonElement>(lines[1]["data: ".Length..])))
            .ToList();
        Assert.Contains(events, e => e.Name == "stdout" && e.Data.GetProperty("data").GetString() == "hi\n");
        Assert.Contains(events, e => e.Name == "stderr" && e.Data.GetProperty("data").GetString() == "oops\n");
        Assert.Equal("exit", events[^1].Name);
        Assert.Equal(5, events[^1].Data.GetProperty("exit_code").GetInt32());
    }

    [Fact]
    public async Task AVolumeKeepsItsDataAcrossStopAndStart()
    {
        using (var created = await Http.PostAsJsonAsync("/api/instances?wait=started", new { name = "keeper", region = "ams", size = "shared-cpu-1x", volume = new { size_gb = 1, path = "/data" } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        Assert.Equal(0, (await ExecBufferedAsync("keeper", new { command = "echo kept > /data/file; echo lost > /root/file" })).GetProperty("exit_code").GetInt32());
        foreach (var (action, state) in new[] { ("stop", "stopped"), ("start", "started") })
        {
            using (var response = await Http.PostAsync($"/api/instances/keeper/{action}", null))
            {
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            }

            await Wait.UntilAsync(async () => (await GetInstanceAsync("keeper")).GetProperty("state").GetString() == state, $"keeper to be {state}");
        }

        var after = await ExecBufferedAsync("keeper", new { command = "cat /data/file; mountpoint -q /data && echo mounted" });
        Assert.Equal("kept\nmounted\n", after.GetProperty("stdout").GetString());
        using var destroyed = await Http.DeleteAsync("/api/instances/keeper");
        Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
    }

    [Fact]
    public async Task BufferedJsonIsCappedAndSaysSo()
    {
        var result = await ExecBufferedAsync(ExecFixture.Box, new { command = "head -c 3000 /dev/zero | tr '\\0' 'y'; echo done >&2", max_output_bytes = 1000 });

        Assert.Equal(new string('y', 1000), result.GetProperty("stdout").GetString());
        Assert.Equal("done\n", result.GetProperty("stderr").GetString());
        Assert.Equal(3000, result.GetProperty("stdout_bytes").GetInt64());
        Assert.True(result.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public async Task FiftyConcurrentExecsOverTenInstancesEachGetTheirOwnOutput()
    {
        var names = Enumerable.Range(0, 10).Select(i => $"many-{i}").ToArray();
        await Task.WhenAll(names.Select(name => ExecFixture.CreateStartedAsync(fixture.Silo, name)));

        var jobs = names.SelectMany(name => Enumerable.Range(0, 5).Select(n => (Name: name, N: n))).ToArray();
        var results = await Task.WhenAll(jobs.Select(async job =>
        {
            var body = new { command = "sleep 0.2; echo \"$(hostname) $N\"", env = new Dictionary<string, string> { ["N"] = job.N.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
            var result = await ExecBufferedAsync(job.Name, body);
            return (job, Output: result.GetProperty("stdout").GetString());
        }));

        Assert.Equal(50, results.Length);
        Assert.All(results, r => Assert.EndsWith($" {r.job.N}\n", r.Output, StringComparison.Ordinal));
        // Each instance answered from its own machine.
        Assert.Equal(10, results.Select(r => r.Output![..r.Output!.LastIndexOf(' ')]).Distinct().Count());
        Assert.All(results.GroupBy(r => r.job.Name), g => Assert.Single(g.Select(r => r.Output![..r.Output!.LastIndexOf(' ')]).Distinct()));
    }

    [Theory]
    [InlineData("""{}""", "command")]
    [InlineData("""{"command":""}""", "command")]
    [InlineData("""{"command":42}""", "command")]
    [InlineData("""{"command":"true","env":{"1X":"a"}}""", "env.1X")]
    [InlineData("""{"command":"true","env":{"X":1}}""", "env.X")]
    [InlineData("""{"command":"true","env":[]}""", "env")]
    [InlineData("""{"command":"true","cwd":""}""", "cwd")]
    [InlineData("""{"command":"true","cwd":5}""", "cwd")]
    [InlineData("""{"command":"true","timeout_seconds":0}""", "timeout_seconds")]
    [InlineData("""{"command":"true","timeout_seconds":"5"}""", "timeout_seconds")]
    [InlineData("""{"command":"true","timeout_seconds":100000}""", "timeout_seconds")]
    [InlineData("""{"command":"true","stdin":"a","stdin_base64":"YQ=="}""", "stdin")]
    [InlineData("""{"command":"true","stdin_base64":"***"}""", "stdin_base64")]
    [InlineData("""{"command":"true","max_output_bytes":0}""", "max_output_bytes")]
    [InlineData("""{"command":"true","shell":"bash"}""", "shell")]
    [InlineData("""{"command":"a\u0000b"}""", "command")]
    [InlineData("""["true"]""", "body")]
    [InlineData("""{"command":""", "body")]
    public async Task EachBadExecBodyIs400NamingTheField(string json, string field)
    {
        using var response = await Http.PostAsync("/api/instances/box/exec", new StringContent(json, Encoding.UTF8, "application/json"));
        var problem = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(InstanceProblems.Validation, problem.GetProperty("type").GetString());
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task UnknownStoppedAndDestroyedInstancesAreProblemsNotStreams()
    {
        using var unknown = await Http.PostAsJsonAsync("/api/instances/nobody/exec", new { command = "true" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(InstanceProblems.NotFound, await TypeAsync(unknown));

        await ExecFixture.CreateStartedAsync(fixture.Silo, "stopped-box");
        using (var stop = await Http.PostAsync("/api/instances/stopped-box/stop", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
        }

        await Wait.UntilAsync(async () => (await GetInstanceAsync("stopped-box")).GetProperty("state").GetString() == "stopped", "stopped-box to stop");
        using var stopped = await Http.PostAsJsonAsync("/api/instances/stopped-box/exec", new { command = "true" });
        Assert.Equal(HttpStatusCode.Conflict, stopped.StatusCode);
        Assert.Equal(InstanceProblems.Conflict, await TypeAsync(stopped));

        using (var destroy = await Http.DeleteAsync("/api/instances/stopped-box"))
        {
            Assert.Equal(HttpStatusCode.OK, destroy.StatusCode);
        }

        using var destroyed = await Http.PostAsJsonAsync("/api/instances/stopped-box/exec", new { command = "true" });
        Assert.Equal(HttpStatusCode.Conflict, destroyed.StatusCode);
        Assert.Equal(InstanceProblems.Destroyed, await TypeAsync(destroyed));
    }

    [Fact]
    public async Task AMachineWhoseSshdIsGoneIs502WithTheReason()
    {
        await ExecFixture.CreateStartedAsync(fixture.Silo, "no-sshd");
        Assert.Equal(0, (await ExecBufferedAsync("no-sshd", new { command = "true" })).GetProperty("exit_code").GetInt32());

        // The machine has its own PID namespace: this stops only its sshd (and, with it, our connection).
        using (await Http.PostAsJsonAsync("/api/instances/no-sshd/exec", new { command = "nohup sh -c 'sleep 0.3; pkill -x sshd' >/dev/null 2>&1 &" }))
        {
        }

        await Wait.UntilAsync(
            async () =>
            {
                using var response = await Http.PostAsJsonAsync("/api/instances/no-sshd/exec", new { command = "true" });
                return response.StatusCode == HttpStatusCode.BadGateway;
            },
            "exec on a machine without sshd to answer 502");
        using var failed = await Http.PostAsJsonAsync("/api/instances/no-sshd/exec", new { command = "true" });
        var problem = JsonSerializer.Deserialize<JsonElement>(await failed.Content.ReadAsStringAsync());
        Assert.Equal(InstanceProblems.SshUnreachable, problem.GetProperty("type").GetString());
        Assert.Equal("unreachable", problem.GetProperty("reason").GetString());
        Assert.Contains("no-sshd", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APrivateKeyAppearsInNoLogLineAndNoResponse()
    {
        var responses = new List<string>();
        using (var created = await Http.PostAsJsonAsync("/api/instances?wait=started", new { name = "secret-box", region = "ams", size = "shared-cpu-1x" }))
        {
            responses.Add(await created.Content.ReadAsStringAsync());
        }

        foreach (var url in new[] { "/api/instances/secret-box", "/api/instances", "/api/instances/box" })
        {
            responses.Add(await Http.GetStringAsync(url));
        }

        responses.Add((await ExecBufferedAsync("secret-box", new { command = "echo hello" })).ToString());
        using (var missing = await Http.PostAsJsonAsync("/api/instances/secret-box/exec", new { command = "true", nope = 1 }))
        {
            responses.Add(await missing.Content.ReadAsStringAsync());
        }

        var secrets = fixture.Keys.Fingerprints().ToList();
        Assert.NotEmpty(secrets);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(responses, r => r.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(fixture.Silo.Log.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    private async Task AssertNoProcessAsync(string commandLine)
    {
        var result = await ExecBufferedAsync(ExecFixture.Box, new { command = $"pgrep -fx '{commandLine}' || echo none" });
        Assert.Equal("none\n", result.GetProperty("stdout").GetString());
    }

    private Task WaitForProcessAsync(string commandLine, bool present) =>
        Wait.UntilAsync(
            async () =>
            {
                var result = await ExecBufferedAsync(ExecFixture.Box, new { command = $"pgrep -fx '{commandLine}' >/dev/null && echo yes || echo no" });
                return result.GetProperty("stdout").GetString() == (present ? "yes\n" : "no\n");
            },
            $"'{commandLine}' to be {(present ? "running" : "gone")}");

    private async Task<(List<JsonElement> Lines, JsonElement Exit)> ExecNdjsonAsync(string instance, object body)
    {
        using var response = await Http.PostAsJsonAsync($"/api/instances/{instance}/exec", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        Assert.Equal(ExecEndpoints.NdJson, response.Content.Headers.ContentType?.MediaType);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize<JsonElement>(l)).ToList();
        var exit = lines[^1];
        Assert.True(exit.TryGetProperty("exit_code", out _), $"the last line is the exit: {exit}");
        return (lines[..^1], exit);
    }

    private async Task<JsonElement> ExecBufferedAsync(string instance, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/instances/{instance}/exec") { Content = JsonContent.Create(body) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await Http.SendAsync(request);
        return await ReadBufferedAsync(response);
    }

    private async Task<JsonElement> ReadBufferedAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}; silo errors: {string.Join(" || ", fixture.Silo.Log.Lines.Where(l => l.Contains("xception", StringComparison.Ordinal)).TakeLast(3))}");
        return JsonSerializer.Deserialize<JsonElement>(text);
    }

    private async Task<JsonElement> GetInstanceAsync(string id) => JsonSerializer.Deserialize<JsonElement>(await Http.GetStringAsync($"/api/instances/{id}"));

    private static async Task<string?> TypeAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync()).GetProperty("type").GetString();

    private static string Text(IEnumerable<JsonElement> lines, string stream) =>
        string.Concat(lines.Where(l => l.GetProperty("stream").GetString() == stream).Select(l => l.GetProperty("data").GetString()));
}
