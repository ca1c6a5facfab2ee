using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Gateway.Instances;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Named sessions end to end: the API on Kestrel, the session grain on PostgreSQL, and real tmux on an emulator
/// machine reached over real SSH.
/// </summary>
public sealed partial class TerminalSessionTests(ExecFixture fixture) : IClassFixture<ExecFixture>
{
    private const string Counter = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done";

    private HttpClient Http => fixture.Silo.Http;

    [Fact]
    public async Task ACounterKeepsCountingWithNobodyAttachedAndReattachingSendsTheScreenFirst()
    {
        var session = await CreateAsync(new { name = "counter", command = Counter, cols = 80, rows = 24 });
        Assert.Equal("counter", session.GetProperty("name").GetString());
        Assert.Equal("running", session.GetProperty("status").GetString());
        var sid = session.GetProperty("id").GetString()!;

        using (var first = NewSocket())
        {
            await first.ConnectAsync(AttachUri(sid), CancellationToken.None);
            await ReadUntilAsync(first, "tick ");
            await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", CancellationToken.None);
        }

        var detachedAt = LastTick(await ScreenAsync(sid));
        await Wait.UntilAsync(async () => LastTick(await ScreenAsync(sid)) >= detachedAt + 5, "the counter to advance by 5 through /screen with nobody attached");
        var seen = LastTick(await ScreenAsync(sid));

        using var again = NewSocket();
        await again.ConnectAsync(AttachUri(sid), CancellationToken.None);
        // A tick from before this attach can only arrive as part of the redrawn screen, not as live output.
        await ReadUntilAsync(again, new Regex($@"tick {seen}(?!\d)"));
        await again.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", CancellationToken.None);

        var listed = JsonSerializer.Deserialize<JsonElement>(await Http.GetStringAsync($"/api/instances/{ExecFixture.Box}/sessions"));
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), s => s.GetProperty("id").GetString() == sid && s.GetProperty("status").GetString() == "running");

        using var deleted = await Http.DeleteAsync(SessionPath(sid));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await Http.GetAsync(SessionPath(sid));
        await ProblemAssert.IsAsync(gone, HttpStatusCode.NotFound, InstanceProblems.NotFound, field: null);
    }

    [Fact]
    public async Task TwoClientsSeeTheSameScreenAndAViewerCannotType()
    {
        var sid = (await CreateAsync(new { })).GetProperty("id").GetString()!;
        using var typist = NewSocket();
        await typist.ConnectAsync(AttachUri(sid), CancellationToken.None);
        using var viewer = NewSocket();
        await viewer.ConnectAsync(AttachUri(sid, "mode=view"), CancellationToken.None);

        await SendAsync(typist, "echo both-$((6*7))\r");
        await ReadUntilAsync(typist, "both-42");
        await ReadUntilAsync(viewer, "both-42");

        await SendAsync(viewer, "echo viewer-typed\r");
        var refusal = await ReadUntilTextAsync(viewer);
        Assert.Equal("error", refusal.GetProperty("type").GetString());
        Assert.Contains("view-only", refusal.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // Input after the viewer's, through the API: once it shows, the viewer's keystrokes would have shown first.
        await InputAsync(sid, new { text = "echo after-$((2+3))" });
        await InputAsync(sid, new { keys = new[] { "Enter" } });
        await Wait.UntilAsync(async () => (await ScreenAsync(sid)).Contains("after-5\n", StringComparison.Ordinal), "the typist's line on the screen");
        Assert.DoesNotContain("viewer-typed", await ScreenAsync(sid), StringComparison.Ordinal);

        await typist.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", CancellationToken.None);
        await viewer.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", CancellationToken.None);
        using var deleted = await Http.DeleteAsync(SessionPath(sid));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Fact]
    public async Task InputAndScreenRoundTripCtrlCStopsAProgramAndAnExitIsRecorded()
    {
        var sid = (await CreateAsync(new { env = new Dictionary<string, string> { ["GREETING"] = "it's $(not) run" }, cwd = "/usr" })).GetProperty("id").GetString()!;

        await InputAsync(sid, new { text = "echo $((6*7)); printf '[%s]' \"$GREETING\"; pwd" });
        await InputAsync(sid, new { keys = new[] { "Enter" } });
        await Wait.UntilAsync(async () => Lines(await ScreenAsync(sid)).Contains("42"), "42 on the screen");
        var screen = await ScreenAsync(sid);
        Assert.Contains("[it's $(not) run]/usr", screen, StringComparison.Ordinal);

        using (var request = new HttpRequestMessage(HttpMethod.Get, SessionPath(sid) + "/screen"))
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var json = await Http.SendAsync(request);
            var body = JsonSerializer.Deserialize<JsonElement>(await json.Content.ReadAsStringAsync());
            Assert.Equal(80, body.GetProperty("cols").GetInt32());
            Assert.Equal(24, body.GetProperty("rows").GetInt32());
            Assert.InRange(body.GetProperty("cursor_y").GetInt32(), 1, 23);
        }

        await InputAsync(sid, new { text = "echo started-$((1+1)); sleep 1000; echo slept" });
        await InputAsync(sid, new { keys = new[] { "Enter" } });
        await Wait.UntilAsync(async () => Lines(await ScreenAsync(sid)).Contains("started-2"), "sleep to be running");
        await InputAsync(sid, new { keys = new[] { "C-c" } });
        await InputAsync(sid, new { text = "echo after-$((2+3))" });
        await InputAsync(sid, new { keys = new[] { "Enter" } });
        await Wait.UntilAsync(async () => Lines(await ScreenAsync(sid)).Contains("after-5"), "the shell to take input again after C-c");
        Assert.DoesNotContain("slept", Lines(await ScreenAsync(sid)));

        await InputAsync(sid, new { text = "exit 3" });
        await InputAsync(sid, new { keys = new[] { "Enter" } });
        await Wait.UntilAsync(
            async () => JsonSerializer.Deserialize<JsonElement>(await Http.GetStringAsync(SessionPath(sid))).GetProperty("status").GetString() == "exited",
            "the session to be exited after its shell exited");
        var exited = JsonSerializer.Deserialize<JsonElement>(await Http.GetStringAsync(SessionPath(sid)));
        Assert.Equal(3, exited.GetProperty("exit_code").GetInt32());

        using var late = await Http.PostAsJsonAsync(SessionPath(sid) + "/input", new { text = "echo too late" });
        await ProblemAssert.IsAsync(late, HttpStatusCode.Conflict, InstanceProblems.SessionEnded, field: null);
        using var deleted = await Http.DeleteAsync(SessionPath(sid));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Fact]
    public async Task BadSessionRequestsAreProblemsNamingTheField()
    {
        var path = $"/api/instances/{ExecFixture.Box}/sessions";
        foreach (var (body, field) in new (object Body, string Field)[]
        {
            (new { name = "no spaces allowed" }, "name"),
            (new { cols = 0 }, "cols"),
            (new { rows = 1001 }, "rows"),
            (new { cwd = "" }, "cwd"),
            (new { env = new Dictionary<string, string> { ["1BAD"] = "x" } }, "env.1BAD"),
            (new { shell = "bash" }, "shell"),
            (new { cwd = "/no/such/dir" }, "cwd"),
        })
        {
            using var response = await Http.PostAsJsonAsync(path, body);
            await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, InstanceProblems.Validation, field);
        }

        using (var unknownInstance = await Http.PostAsJsonAsync("/api/instances/nobody/sessions", new { }))
        {
            await ProblemAssert.IsAsync(unknownInstance, HttpStatusCode.NotFound, InstanceProblems.NotFound, field: null);
        }

        using (var unknown = await Http.GetAsync($"{path}/s-000000000000"))
        {
            await ProblemAssert.IsAsync(unknown, HttpStatusCode.NotFound, InstanceProblems.NotFound, field: null);
        }

        var sid = (await CreateAsync(new { command = "sleep 1000" })).GetProperty("id").GetString()!;
        foreach (var (body, field) in new (object Body, string Field)[]
        {
            (new { keys = new[] { "Enter", "Hyper-x" } }, "keys[1]"),
            (new { text = "a", keys = new[] { "Enter" } }, "text"),
            (new { }, "text"),
            (new { keys = Array.Empty<string>() }, "keys"),
        })
        {
            using var response = await Http.PostAsJsonAsync(SessionPath(sid) + "/input", body);
            await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, InstanceProblems.Validation, field);
        }

        using (var rename = await Http.PatchAsJsonAsync(SessionPath(sid), new { name = "" }))
        {
            await ProblemAssert.IsAsync(rename, HttpStatusCode.BadRequest, InstanceProblems.Validation, "name");
        }

        using (var renamed = await Http.PatchAsJsonAsync(SessionPath(sid), new { name = "build.log" }))
        {
            Assert.Equal("build.log", JsonSerializer.Deserialize<JsonElement>(await renamed.Content.ReadAsStringAsync()).GetProperty("name").GetString());
        }

        using (var scrollback = await Http.GetAsync(SessionPath(sid) + "/screen?scrollback=-1"))
        {
            await ProblemAssert.IsAsync(scrollback, HttpStatusCode.BadRequest, InstanceProblems.Validation, "scrollback");
        }

        using (var mode = await Http.GetAsync(SessionPath(sid) + "/attach?mode=bogus"))
        {
            await ProblemAssert.IsAsync(mode, HttpStatusCode.BadRequest, InstanceProblems.Validation, "mode");
        }

        using (var plain = await Http.GetAsync(SessionPath(sid) + "/attach"))
        {
            await ProblemAssert.IsAsync(plain, HttpStatusCode.BadRequest, ExecEndpoints.WebSocketRequired, field: null);
        }

        using var deleted = await Http.DeleteAsync(SessionPath(sid));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Fact]
    public async Task ASessionOutlivesTheKilledSiloThatHostedItsGrainAndAttachesThroughAnother()
    {
        var connectionString = await fixture.Database.CreateDatabaseAsync();
        // Failure detection in seconds, as a cluster tuned for it would have: the survivor then takes the session's
        // grain over soon after the kill.
        string[] membership =
        [
            "--Orleans:Membership:ProbeTimeout=00:00:01",
            "--Orleans:Membership:NumMissedProbesLimit=2",
            "--Orleans:Membership:NumVotesForDeathDeclaration=1",
            "--Orleans:Membership:TableRefreshTimeout=00:00:01",
        ];

        // The first silo, a process of its own, is alone when it makes the instance and the session, so the
        // session's grain lives there; the second joins; then the first is killed: no shutdown, its grains are gone.
        using var doomed = SiloProcess.Start(connectionString, "exec", [.. fixture.SiloArguments(), .. membership]);
        await doomed.WaitReadyAsync(TimeSpan.FromSeconds(60));
        using var first = new HttpClient { BaseAddress = doomed.BaseAddress };
        first.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(await ApiKeys.CreateTenantKeyAsync(doomed.BaseAddress, SiloNode.Tenant));
        using (var created = await first.PostAsJsonAsync("/api/instances?wait=started", new { name = "outlived", region = "ams", size = "shared-cpu-1x" }))
        {
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        }

        string sid;
        using (var created = await first.PostAsJsonAsync("/api/instances/outlived/sessions", new { command = Counter }))
        {
            var body = await created.Content.ReadAsStringAsync();
            Assert.True(created.StatusCode == HttpStatusCode.Created, body);
            sid = JsonSerializer.Deserialize<JsonElement>(body).GetProperty("id").GetString()!;
        }

        await using var survivor = await fixture.StartSiloAsync(connectionString, keys: null, membership);
        doomed.Kill();

        // Through the survivor, which never held the session: it reads the grain's state from PostgreSQL and finds
        // the tmux session still on the machine, still counting.
        var http = survivor.Http;
        var path = $"/api/instances/outlived/sessions/{sid}";
        var before = -1;
        await Wait.UntilAsync(
            async () =>
            {
                using var screen = await http.GetAsync(path + "/screen");
                if (!screen.IsSuccessStatusCode)
                {
                    return false;
                }

                var tick = LastTick(await screen.Content.ReadAsStringAsync());
                before = before < 0 ? tick : before;
                return tick > before + 3;
            },
            "the counter, read through the surviving silo, to go on counting after the silo that held its grain was killed",
            TimeSpan.FromSeconds(90));
        var session = JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync(path));
        Assert.Equal("running", session.GetProperty("status").GetString());

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {survivor.TenantKey}");
        await socket.ConnectAsync(new Uri($"ws://{http.BaseAddress!.Authority}{path}/attach"), CancellationToken.None);
        await ReadUntilAsync(socket, "tick ");
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", CancellationToken.None);
        using var deleted = await http.DeleteAsync(path);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var destroyed = await http.DeleteAsync("/api/instances/outlived");
        Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
    }

    internal static Task<string> ReadUntilAsync(ClientWebSocket socket, string expected) =>
        ReadUntilAsync(socket, new Regex(Regex.Escape(expected)));

    internal static async Task<string> ReadUntilAsync(ClientWebSocket socket, Regex expected)
    {
        var seen = new StringBuilder();
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!expected.IsMatch(seen.ToString()))
        {
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.True(received.MessageType == WebSocketMessageType.Binary, $"expected terminal output, got {received.MessageType} after: {seen}");
            seen.Append(Encoding.UTF8.GetString(buffer, 0, received.Count));
        }

        return seen.ToString();
    }

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

    private static Task SendAsync(ClientWebSocket socket, string keys) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(keys), WebSocketMessageType.Binary, true, CancellationToken.None);

    private static string SessionPath(string sid) => $"/api/instances/{ExecFixture.Box}/sessions/{sid}";

    private static List<string> Lines(string screen) => [.. screen.Split('\n').Select(l => l.TrimEnd())];

    private static int LastTick(string screen) =>
        TickPattern().Matches(screen).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();

    [GeneratedRegex(@"tick (\d+)")]
    private static partial Regex TickPattern();

    private Uri AttachUri(string sid, string query = "") =>
        new($"ws://{Http.BaseAddress!.Authority}{SessionPath(sid)}/attach{(query.Length > 0 ? "?" + query : "")}");

    private ClientWebSocket NewSocket()
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {fixture.Silo.TenantKey}");
        return socket;
    }

    private async Task<JsonElement> CreateAsync(object body)
    {
        using var created = await Http.PostAsJsonAsync($"/api/instances/{ExecFixture.Box}/sessions", body);
        var text = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"create session: {(int)created.StatusCode} {text}");
        return JsonSerializer.Deserialize<JsonElement>(text);
    }

    private async Task<string> ScreenAsync(string sid)
    {
        using var response = await Http.GetAsync(SessionPath(sid) + "/screen");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"screen: {(int)response.StatusCode} {text}");
        return text;
    }

    private async Task InputAsync(string sid, object body)
    {
        using var response = await Http.PostAsJsonAsync(SessionPath(sid) + "/input", body);
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, $"input: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
