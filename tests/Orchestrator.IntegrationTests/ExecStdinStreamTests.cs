using System.Net;
using System.Text.Json;
using Orchestrator.Gateway.Instances;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// <c>GET /api/instances/{id}/exec/ws</c> end to end: stdin streamed over a real WebSocket through the session grain to
/// the machine's real sshd, while the output streams back.
/// </summary>
public sealed class ExecStdinStreamTests(ExecFixture fixture) : IClassFixture<ExecFixture>
{
    private const long TwentyMegabytes = 20L * 1024 * 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task TwentyMegabytesOfBinaryStdinReachSha256sum()
    {
        using var bound = new CancellationTokenSource(Bound);
        using var exec = await ConnectAsync("command=sha256sum", bound.Token);
        var (sent, result) = await exec.RunAsync(TwentyMegabytes, seed: 1, bound.Token);

        Assert.Equal(0, ExitCode(result));
        Assert.Equal($"{sent}  -\n", result.StdoutHead);
    }

    [Fact]
    public async Task CatEchoesTwentyMegabytesOfBinaryStdinByteExactWhileItStreams()
    {
        // Far more than every buffer on the way holds: cat's output must flow back while its input is still sent.
        using var bound = new CancellationTokenSource(Bound);
        using var exec = await ConnectAsync("command=cat", bound.Token);
        var (sent, result) = await exec.RunAsync(TwentyMegabytes, seed: 2, bound.Token);

        Assert.Equal(0, ExitCode(result));
        Assert.Equal(TwentyMegabytes, result.StdoutBytes);
        Assert.Equal(sent, result.StdoutSha256);
        Assert.Equal(TwentyMegabytes, result.Exit!.Value.GetProperty("stdout_bytes").GetInt64());
    }

    [Theory]
    [InlineData("head -c 10 >/dev/null; echo done")]
    [InlineData("echo done")]
    public async Task ACommandThatEndsBeforeReadingAllStdinEndsTheExchange(string command)
    {
        using var bound = new CancellationTokenSource(Bound);
        using var exec = await ConnectAsync("command=" + Uri.EscapeDataString(command), bound.Token);
        var (_, result) = await exec.RunAsync(TwentyMegabytes, seed: 3, bound.Token);

        Assert.Equal(0, ExitCode(result));
        Assert.Equal("done\n", result.StdoutHead);
    }

    [Fact]
    public async Task EnvCwdAndStderrWorkAsInTheJsonForm()
    {
        using var bound = new CancellationTokenSource(Bound);
        var query = "command=" + Uri.EscapeDataString("cat; printf '[%s]' \"$GREETING\"; pwd; echo oops >&2; exit 7")
            + "&env=" + Uri.EscapeDataString("GREETING=a b=c") + "&cwd=/usr&timeout_seconds=60";
        using var exec = await ConnectAsync(query, bound.Token);
        await exec.SendEofAsync(bound.Token);
        var result = await exec.ReceiveAsync(bound.Token);
        await exec.CloseAsync(bound.Token);

        Assert.Equal(7, ExitCode(result));
        Assert.Equal("[a b=c]/usr\n", result.StdoutHead);
        Assert.Equal("oops\n", result.Stderr);
    }

    [Theory]
    [InlineData("", "command")]
    [InlineData("command=", "command")]
    [InlineData("command=true&command=false", "command")]
    [InlineData("command=true&env=NOEQUALS", "env")]
    [InlineData("command=true&env=1X=a", "env.1X")]
    [InlineData("command=true&cwd=", "cwd")]
    [InlineData("command=true&timeout_seconds=0", "timeout_seconds")]
    [InlineData("command=true&timeout_seconds=soon", "timeout_seconds")]
    [InlineData("command=true&timeout_seconds=100000", "timeout_seconds")]
    [InlineData("command=true&stdin=x", "stdin")]
    [InlineData("command=a%00b", "command")]
    public async Task EachBadParameterIs400NamingIt(string query, string field)
    {
        using var response = await fixture.Silo.Http.GetAsync($"/api/instances/{ExecFixture.Box}/exec/ws?{query}");
        var problem = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(InstanceProblems.Validation, problem.GetProperty("type").GetString());
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task AValidRequestThatIsNotAnUpgradeIs400WebSocketRequired()
    {
        using var response = await fixture.Silo.Http.GetAsync($"/api/instances/{ExecFixture.Box}/exec/ws?command=true");
        var problem = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ExecEndpoints.WebSocketRequired, problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task AnUnknownInstanceIs404BeforeTheUpgrade()
    {
        using var bound = new CancellationTokenSource(Bound);
        var failure = await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => ConnectAsync("command=true", bound.Token, "nobody"));
        Assert.Contains("404", failure.Message, StringComparison.Ordinal);
    }

    private Task<ExecSocketClient> ConnectAsync(string query, CancellationToken cancellationToken, string instance = ExecFixture.Box) =>
        ExecSocketClient.ConnectAsync(fixture.Silo.BaseAddress, fixture.Silo.TenantKey, instance, query, cancellationToken);

    private static int ExitCode(ExecSocketResult result)
    {
        Assert.True(result.Exit is not null, $"no exit message; error {result.Error}, stderr {result.Stderr}");
        return result.Exit.Value.GetProperty("exit_code").GetInt32();
    }
}
