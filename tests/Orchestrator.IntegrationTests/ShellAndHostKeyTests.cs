using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Orchestrator.Fly;
using Orchestrator.Gateway;
using Orchestrator.Gateway.Instances;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Interactive shells over a real WebSocket (co-hosted and through a standalone gateway), host-key pinning, and
/// instances that outlive their silo.
/// </summary>
public sealed class ShellAndHostKeyTests(ExecFixture fixture) : IClassFixture<ExecFixture>
{
    [Fact]
    public async Task AShellRunsTypedCommandsResizesAndReportsItsExitStatus()
    {
        await RunShellSessionAsync(fixture.Silo.Http.BaseAddress!);
    }

    [Fact]
    public async Task AShellAndExecWorkThroughAStandaloneGateway()
    {
        await using var gateway = GatewayProgram.Build(
        [
            "--urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Orchestrator={fixture.Database.ConnectionString}",
            "--Orchestrator:ClusterId=exec",
            $"--Orchestrator:Auth:AdminKey={ApiKeys.Admin}",
        ]);
        await gateway.StartAsync();
        var address = new Uri(gateway.Urls.First());
        using var http = new HttpClient { BaseAddress = address };
        http.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(fixture.Silo.TenantKey);

        using var exec = await http.PostAsJsonAsync("/api/instances/box/exec", new { command = "echo via gateway; exit 4" });
        var lines = (await exec.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize<JsonElement>(l)).ToList();
        Assert.Equal(HttpStatusCode.OK, exec.StatusCode);
        Assert.Equal("via gateway\n", lines[0].GetProperty("data").GetString());
        Assert.Equal(4, lines[^1].GetProperty("exit_code").GetInt32());

        await RunShellSessionAsync(address);
        await gateway.StopAsync();
    }

    [Fact]
    public async Task ShellRequestsThatCannotOpenAreProblemsAndBadControlMessagesAreAnswered()
    {
        var http = fixture.Silo.Http;
        using (var plain = await http.GetAsync("/api/instances/box/shell"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
            Assert.Equal(ExecEndpoints.WebSocketRequired, (await ProblemAsync(plain)).GetProperty("type").GetString());
        }

        using (var badSize = await http.GetAsync("/api/instances/box/shell?cols=0"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badSize.StatusCode);
            Assert.Equal("cols", (await ProblemAsync(badSize)).GetProperty("field").GetString());
        }

        using var unknown = NewSocket();
        unknown.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => unknown.ConnectAsync(ShellUri(fixture.Silo.Http.BaseAddress!, "nobody"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, unknown.HttpStatusCode);

        using var socket = NewSocket();
        await socket.ConnectAsync(ShellUri(fixture.Silo.Http.BaseAddress!, ExecFixture.Box), CancellationToken.None);
        await socket.SendAsync("""{"type":"resize","cols":0,"rows":5}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var error = await ReadUntilTextAsync(socket);
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Contains("cols and rows", error.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // The shell is still usable after a bad control message.
        await SendKeysAsync(socket, "echo still-$((1+1))\n");
        await ReadUntilAsync(socket, "still-2");
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    [Fact]
    public async Task ATamperedHostKeyIsRefusedAndThePinStays()
    {
        var http = fixture.Silo.Http;
        var created = await ExecFixture.CreateStartedAsync(fixture.Silo, "tamper");
        var machineId = created.GetProperty("machine_id").GetString()!;
        using (var first = await http.PostAsJsonAsync("/api/instances/tamper/exec", new { command = "true" }))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var pinned = (await GetAsync(http, "tamper")).GetProperty("host_key_pinned").GetString();
        Assert.StartsWith("ssh-ed25519 ", pinned, StringComparison.Ordinal);

        // Someone with the Fly token swaps the machine's host key in its config: the machine now shows another key.
        var fly = fixture.Silo.App.Services.GetRequiredService<IMachineProvider>();
        var machine = await fly.GetMachineAsync(ExecFixture.AppName, machineId);
        var otherKey = Ssh.SshKeys.GenerateEd25519("intruder");
        var files = machine.Config!.Files!.Where(f => f.GuestPath != "/etc/ssh/ssh_host_ed25519_key")
            .Append(new FlyMachineFile { GuestPath = "/etc/ssh/ssh_host_ed25519_key", RawValue = Convert.ToBase64String(Encoding.UTF8.GetBytes(otherKey.PrivateKeyOpenSsh)) })
            .ToList();
        await fly.UpdateMachineAsync(ExecFixture.AppName, machineId, new UpdateMachineRequest { Config = machine.Config with { Files = files }, CurrentVersion = machine.InstanceId });
        await Wait.UntilAsync(async () => (await fly.GetMachineAsync(ExecFixture.AppName, machineId)).State == "started", "the updated machine to start");
        await Wait.UntilAsync(async () => (await GetAsync(http, "tamper")).GetProperty("state").GetString() == "started", "the instance to see it started");

        using var refused = await http.PostAsJsonAsync("/api/instances/tamper/exec", new { command = "echo should-not-run" });
        var problem = await ProblemAsync(refused);
        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        Assert.Equal(InstanceProblems.SshHostKeyMismatch, problem.GetProperty("type").GetString());
        Assert.Equal("host-key-mismatch", problem.GetProperty("reason").GetString());
        Assert.Contains("does not match the pinned key", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(pinned, (await GetAsync(http, "tamper")).GetProperty("host_key_pinned").GetString());

        using var socket = NewSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(ShellUri(http.BaseAddress!, "tamper"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.BadGateway, socket.HttpStatusCode);
    }

    [Fact]
    public async Task AnInstanceItsKeysAndItsPinnedHostKeyOutliveSiloRestarts()
    {
        var connectionString = await fixture.Database.CreateDatabaseAsync();
        await using (var before = await fixture.StartSiloAsync(connectionString))
        {
            await ExecFixture.CreateStartedAsync(before, "survivor");
        }

        string? pinned;
        await using (var after = await fixture.StartSiloAsync(connectionString))
        {
            using var exec = await after.Http.PostAsJsonAsync("/api/instances/survivor/exec", new { command = "echo after restart" });
            Assert.Equal(HttpStatusCode.OK, exec.StatusCode);
            Assert.Contains("after restart", await exec.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            pinned = (await GetAsync(after.Http, "survivor")).GetProperty("host_key_pinned").GetString();
            Assert.NotNull(pinned);
        }

        await using var again = await fixture.StartSiloAsync(connectionString);
        using var second = await again.Http.PostAsJsonAsync("/api/instances/survivor/exec", new { command = "echo pinned" });
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(pinned, (await GetAsync(again.Http, "survivor")).GetProperty("host_key_pinned").GetString());
        using var destroy = await again.Http.DeleteAsync("/api/instances/survivor");
        Assert.Equal(HttpStatusCode.OK, destroy.StatusCode);
    }

    private async Task RunShellSessionAsync(Uri baseAddress)
    {
        using var socket = NewSocket();
        await socket.ConnectAsync(ShellUri(baseAddress, ExecFixture.Box, "?cols=100&rows=30"), CancellationToken.None);

        await SendKeysAsync(socket, "stty size; echo $((6*7))\n");
        var output = await ReadUntilAsync(socket, "42\r\n");
        Assert.Contains("30 100", output, StringComparison.Ordinal);

        await socket.SendAsync("""{"type":"resize","cols":120,"rows":40}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        await SendKeysAsync(socket, "stty size\n");
        await ReadUntilAsync(socket, "40 120");

        await SendKeysAsync(socket, "exit 7\n");
        var exit = await ReadUntilTextAsync(socket);
        Assert.Equal("exit", exit.GetProperty("type").GetString());
        Assert.Equal(7, exit.GetProperty("exit_code").GetInt32());

        var buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var closing = await socket.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal(WebSocketMessageType.Close, closing.MessageType);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task ABrowserStyleClientAuthenticatesWithTheKeyAsASubprotocol()
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("orchestrator");
        socket.Options.AddSubProtocol("bearer." + fixture.Silo.TenantKey);
        await socket.ConnectAsync(ShellUri(fixture.Silo.Http.BaseAddress!, ExecFixture.Box), CancellationToken.None);

        Assert.Equal("orchestrator", socket.SubProtocol);
        await SendKeysAsync(socket, "echo $((6*7))\n");
        await ReadUntilAsync(socket, "42\r\n");
        await SendKeysAsync(socket, "exit\n");
        Assert.Equal("exit", (await ReadUntilTextAsync(socket)).GetProperty("type").GetString());

        using var wrong = new ClientWebSocket();
        wrong.Options.CollectHttpResponseDetails = true;
        wrong.Options.AddSubProtocol("orchestrator");
        wrong.Options.AddSubProtocol("bearer.orch_dev_0123456789ab_" + new string('0', 64));
        await Assert.ThrowsAsync<WebSocketException>(() => wrong.ConnectAsync(ShellUri(fixture.Silo.Http.BaseAddress!, ExecFixture.Box), CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.HttpStatusCode);
    }

    private static Uri ShellUri(Uri baseAddress, string instance, string query = "") =>
        new($"ws://{baseAddress.Authority}/api/instances/{instance}/shell{query}");

    /// <summary>A WebSocket client sending the tenant's key, as every shell client must.</summary>
    private ClientWebSocket NewSocket()
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {fixture.Silo.TenantKey}");
        return socket;
    }

    private static Task SendKeysAsync(ClientWebSocket socket, string keys) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(keys), WebSocketMessageType.Binary, true, CancellationToken.None);

    /// <summary>Reads binary terminal output until it contains <paramref name="expected"/>.</summary>
    private static async Task<string> ReadUntilAsync(ClientWebSocket socket, string expected)
    {
        var seen = new StringBuilder();
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!seen.ToString().Contains(expected, StringComparison.Ordinal))
        {
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.True(received.MessageType == WebSocketMessageType.Binary, $"expected terminal output, got {received.MessageType} after: {seen}");
            seen.Append(Encoding.UTF8.GetString(buffer, 0, received.Count));
        }

        return seen.ToString();
    }

    /// <summary>Skips terminal output up to the next text (control) message.</summary>
    private static async Task<JsonElement> ReadUntilTextAsync(ClientWebSocket socket)
    {
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.NotEqual(WebSocketMessageType.Close, received.MessageType);
            if (received.MessageType == WebSocketMessageType.Text)
            {
                return JsonSerializer.Deserialize<JsonElement>(buffer.AsSpan(0, received.Count));
            }
        }
    }

    private static async Task TransitionAsync(HttpClient http, string id, string action, string expected)
    {
        using var response = await http.PostAsync($"/api/instances/{id}/{action}", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await Wait.UntilAsync(async () => (await GetAsync(http, id)).GetProperty("state").GetString() == expected, $"instance {id} to be {expected} after {action}");
    }

    private static async Task<JsonElement> GetAsync(HttpClient http, string id) =>
        JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync($"/api/instances/{id}"));

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());
}
