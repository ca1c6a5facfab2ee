using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Testing;

namespace Orchestrator.Contract.Tests;

/// <summary>
/// Every documented operation driven against a real silo, its successes and the errors a client can cause (400, 401,
/// 403, 404, 409, 413, 415), each answer validated against the live document: no violation, and no operation
/// left without a validated success.
/// </summary>
[Collection(ContractCluster.Name)]
public sealed class ConformanceTests(ContractFixture fixture)
{
    private const string Box = "conformance-box";

    [Fact]
    public async Task EveryOperationAnswersAsTheDocumentSays()
    {
        using var tenant = fixture.Client(fixture.TenantKey);
        using var admin = fixture.Client(ApiKeys.Admin);
        using var anonymous = fixture.Client(key: null);

        await SystemAsync(tenant, anonymous);
        await TenantsAsync(admin, tenant);
        await InstancesAsync(tenant, fixture.Validator);
        await SessionsAsync(tenant, fixture.Validator);
        await WorkflowsAndRunsAsync(tenant);
        await TransitionsAsync(tenant);
        await SecretsAsync(tenant);
        await EnvironmentsAsync(tenant);

        var successes = fixture.Validator.Seen.Keys.Where(static k => k[^3] == '2' || k.EndsWith(" 101", StringComparison.Ordinal)).Select(static k => k[..^4]).ToHashSet(StringComparer.Ordinal);
        var untested = fixture.Validator.Operations.Where(o => !successes.Contains(o)).ToList();
        Assert.True(fixture.Validator.Violations.IsEmpty, $"{fixture.Validator.Violations.Count} violation(s):\n{string.Join('\n', fixture.Validator.Violations)}");
        Assert.True(untested.Count == 0, $"no validated success for: {string.Join(", ", untested)}");
        Assert.True(fixture.Validator.Seen.Count >= 60, $"only {fixture.Validator.Seen.Count} distinct answers: {string.Join(", ", fixture.Validator.Seen.Keys.Order())}");
    }

    private static async Task SystemAsync(HttpClient tenant, HttpClient anonymous)
    {
        await ExpectAsync(tenant, HttpMethod.Get, "/api/version", 200);
        await ExpectAsync(anonymous, HttpMethod.Get, "/api/version", 401);
        await ExpectAsync(anonymous, HttpMethod.Get, "/health/live", 200);
        await ExpectAsync(anonymous, HttpMethod.Get, "/health/ready", 200);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/tenants/contract", 403);
    }

    private static async Task TenantsAsync(HttpClient admin, HttpClient tenant)
    {
        var id = "conformance-" + Guid.NewGuid().ToString("N")[..8];
        await ExpectAsync(admin, HttpMethod.Post, "/api/tenants", 201, Json(new JsonObject { ["id"] = id, ["display_name"] = "Conformance" }));
        await ExpectAsync(admin, HttpMethod.Post, "/api/tenants", 200, Json(new JsonObject { ["id"] = id, ["display_name"] = "Conformance" }));
        await ExpectAsync(admin, HttpMethod.Post, "/api/tenants", 409, Json(new JsonObject { ["id"] = id, ["display_name"] = "Other" }));
        await ExpectAsync(admin, HttpMethod.Post, "/api/tenants", 400, Json(new JsonObject { ["id"] = id, ["color"] = "red" }));
        await ExpectAsync(admin, HttpMethod.Post, "/api/tenants", 413, Json(new JsonObject { ["id"] = id, ["display_name"] = new string('x', 2_000_000) }));
        await ExpectAsync(admin, HttpMethod.Get, $"/api/tenants/{id}", 200);
        await ExpectAsync(admin, HttpMethod.Get, "/api/tenants?limit=1", 200);
        await ExpectAsync(admin, HttpMethod.Get, "/api/tenants?limit=0", 400);
        await ExpectAsync(admin, HttpMethod.Get, "/api/tenants?cursor=Not_An_Id", 400);
        await ExpectAsync(admin, HttpMethod.Get, "/api/tenants/no-such-tenant", 404);
        await ExpectAsync(admin, HttpMethod.Get, "/api/tenants/Not_An_Id", 400);
        await ExpectAsync(admin, HttpMethod.Put, $"/api/tenants/{id}/quotas", 200, Json(new JsonObject { ["max_instances"] = 5, ["session_idle_timeout"] = 3600 }));
        await ExpectAsync(admin, HttpMethod.Put, $"/api/tenants/{id}/quotas", 400, Json(new JsonObject { ["session_idle_timeout"] = 5 }));
        await ExpectAsync(admin, HttpMethod.Put, $"/api/tenants/{id}/quotas", 400, Json(new JsonObject { ["max_instances"] = -1 }));
        var key = await ExpectAsync(admin, HttpMethod.Post, $"/api/tenants/{id}/keys", 201, Json(new JsonObject { ["name"] = "ci", ["expires_in_days"] = 30 }));
        await ExpectAsync(admin, HttpMethod.Post, $"/api/tenants/{id}/keys", 400, Json(new JsonObject { ["expires_in_days"] = 0 }));
        await ExpectAsync(admin, HttpMethod.Get, $"/api/tenants/{id}/keys", 200);
        await ExpectAsync(admin, HttpMethod.Delete, $"/api/tenants/{id}/keys/{(string)key!["id"]!}", 204);
        await ExpectAsync(admin, HttpMethod.Delete, $"/api/tenants/{id}/keys/000000000000", 404);
        await ExpectAsync(admin, HttpMethod.Get, "/api/instances", 403);
        await ExpectAsync(tenant, HttpMethod.Post, "/api/tenants", 403, Json(new JsonObject { ["id"] = id }));
        await ExpectAsync(tenant, HttpMethod.Get, "/api/tenants", 403);
    }

    private static async Task SecretsAsync(HttpClient tenant)
    {
        await ExpectAsync(tenant, HttpMethod.Put, "/api/secrets/CONFORMANCE_TOKEN", 201, Json(new JsonObject { ["value"] = "s3cret" }));
        await ExpectAsync(tenant, HttpMethod.Put, "/api/secrets/CONFORMANCE_TOKEN", 200, Json(new JsonObject { ["value"] = "s3cret-2" }));
        await ExpectAsync(tenant, HttpMethod.Put, "/api/secrets/lower", 400, Json(new JsonObject { ["value"] = "x" }));
        await ExpectAsync(tenant, HttpMethod.Put, "/api/secrets/CONFORMANCE_TOKEN", 400, Json(new JsonObject { ["value"] = "x", ["colour"] = "red" }));
        await ExpectAsync(tenant, HttpMethod.Put, "/api/secrets/CONFORMANCE_TOKEN", 413, Json(new JsonObject { ["value"] = new string('x', 400_000) }));
        await ExpectAsync(tenant, HttpMethod.Get, "/api/secrets", 200);
        await ExpectAsync(tenant, HttpMethod.Delete, "/api/secrets/CONFORMANCE_TOKEN", 204);
        await ExpectAsync(tenant, HttpMethod.Delete, "/api/secrets/CONFORMANCE_TOKEN", 404);
    }

    private static async Task InstancesAsync(HttpClient tenant, ContractValidator validator)
    {
        await ExpectAsync(tenant, HttpMethod.Post, "/api/instances?wait=started", 201, Json(new JsonObject { ["name"] = Box, ["region"] = "ams", ["size"] = "shared-cpu-1x", ["volume"] = new JsonObject { ["size_gb"] = 1, ["path"] = "/data" } }));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/instances", 400, Json(new JsonObject { ["name"] = "Bad Name", ["region"] = "ams", ["size"] = "shared-cpu-1x" }));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/instances", 400, Json(new JsonObject { ["name"] = "other", ["region"] = "ams", ["size"] = "shared-cpu-1x", ["colour"] = "red" }));
        await ExpectAsync(tenant, HttpMethod.Get, "/api/instances", 200);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/instances?limit=0", 400);
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/instances/{Box}", 200);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/instances/no-such-box", 404);

        var exec = $"/api/instances/{Box}/exec";
        await ExpectAsync(tenant, HttpMethod.Post, exec, 200, Json(new JsonObject { ["command"] = "echo out; echo err >&2; exit 3" }), accept: "application/json");
        await ExpectAsync(tenant, HttpMethod.Post, exec, 200, Json(new JsonObject { ["command"] = "printf 'a\\nb\\n'; printf '\\377' >&2" }), accept: "application/x-ndjson");
        await ExpectAsync(tenant, HttpMethod.Post, exec, 200, Json(new JsonObject { ["command"] = "echo sse" }), accept: "text/event-stream");
        await ExpectAsync(tenant, HttpMethod.Post, exec, 400, Json(new JsonObject { ["command"] = "true", ["timeout_seconds"] = 0 }));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/instances/no-such-box/exec", 404, Json(new JsonObject { ["command"] = "true" }));
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/instances/{Box}/shell?cols=0", 400);
        await FilesAsync(tenant);

        // The shell's success is a WebSocket upgrade (101), which HttpClient cannot read as an answer; a WebSocket
        // client checks it, and the validator is told what it answered.
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", tenant.DefaultRequestHeaders.Authorization!.ToString());
        socket.Options.AddSubProtocol("orchestrator");
        socket.Options.CollectHttpResponseDetails = true;
        var shell = new UriBuilder(tenant.BaseAddress!) { Scheme = "ws", Path = $"/api/instances/{Box}/shell" }.Uri;
        await socket.ConnectAsync(shell, CancellationToken.None);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, socket.HttpStatusCode);
        using var upgrade = new HttpResponseMessage(socket.HttpStatusCode);
        socket.Dispose();
        validator.Check(HttpMethod.Get, shell.AbsolutePath, (int)socket.HttpStatusCode, upgrade.Headers, contentHeaders: null, []);

        await ExpectAsync(tenant, HttpMethod.Get, $"/api/instances/{Box}/exec/ws?command=true&timeout_seconds=0", 400);
        using var execSocket = new ClientWebSocket();
        execSocket.Options.SetRequestHeader("Authorization", tenant.DefaultRequestHeaders.Authorization!.ToString());
        execSocket.Options.CollectHttpResponseDetails = true;
        var execUri = new UriBuilder(tenant.BaseAddress!) { Scheme = "ws", Path = $"/api/instances/{Box}/exec/ws", Query = "command=cat" }.Uri;
        await execSocket.ConnectAsync(execUri, CancellationToken.None);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, execSocket.HttpStatusCode);
        using var execUpgrade = new HttpResponseMessage(execSocket.HttpStatusCode);
        validator.Check(HttpMethod.Get, execUri.AbsolutePath, (int)execSocket.HttpStatusCode, execUpgrade.Headers, contentHeaders: null, []);
    }

    private static async Task SessionsAsync(HttpClient tenant, ContractValidator validator)
    {
        var sessions = $"/api/instances/{Box}/sessions";
        var created = await ExpectAsync(tenant, HttpMethod.Post, sessions, 201, Json(new JsonObject { ["name"] = "conformance", ["command"] = "sleep 600", ["cols"] = 100, ["rows"] = 30 }));
        var session = $"{sessions}/{(string)created!["id"]!}";
        await ExpectAsync(tenant, HttpMethod.Post, sessions, 400, Json(new JsonObject { ["rows"] = 0 }));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/instances/no-such-box/sessions", 404, Json(new JsonObject()));
        await ExpectAsync(tenant, HttpMethod.Get, sessions, 200);
        await ExpectAsync(tenant, HttpMethod.Get, session, 200);
        await ExpectAsync(tenant, HttpMethod.Get, $"{sessions}/s-000000000000", 404);
        await ExpectAsync(tenant, HttpMethod.Patch, session, 200, Json(new JsonObject { ["name"] = "renamed" }));
        await ExpectAsync(tenant, HttpMethod.Patch, session, 400, Json(new JsonObject { ["name"] = "not valid" }));
        await ExpectAsync(tenant, HttpMethod.Get, $"{session}/screen", 200, accept: "application/json");
        await ExpectAsync(tenant, HttpMethod.Get, $"{session}/screen?scrollback=100", 200, accept: "text/plain");
        await ExpectAsync(tenant, HttpMethod.Get, $"{session}/screen?scrollback=-1", 400);
        await ExpectAsync(tenant, HttpMethod.Post, $"{session}/input", 204, Json(new JsonObject { ["keys"] = new JsonArray("C-z") }));
        await ExpectAsync(tenant, HttpMethod.Post, $"{session}/input", 400, Json(new JsonObject { ["keys"] = new JsonArray("Hyper-x") }));
        await ExpectAsync(tenant, HttpMethod.Get, $"{session}/attach?mode=bogus", 400);

        using (var socket = new ClientWebSocket())
        {
            socket.Options.SetRequestHeader("Authorization", tenant.DefaultRequestHeaders.Authorization!.ToString());
            socket.Options.CollectHttpResponseDetails = true;
            var attach = new UriBuilder(tenant.BaseAddress!) { Scheme = "ws", Path = $"{session}/attach", Query = "mode=view" }.Uri;
            await socket.ConnectAsync(attach, CancellationToken.None);
            Assert.Equal(HttpStatusCode.SwitchingProtocols, socket.HttpStatusCode);
            using var upgrade = new HttpResponseMessage(socket.HttpStatusCode);
            validator.Check(HttpMethod.Get, attach.AbsolutePath, (int)socket.HttpStatusCode, upgrade.Headers, contentHeaders: null, []);
        }

        await ExpectAsync(tenant, HttpMethod.Delete, session, 204);
        await ExpectAsync(tenant, HttpMethod.Delete, session, 404);
        var exited = await ExpectAsync(tenant, HttpMethod.Post, sessions, 201, Json(new JsonObject { ["command"] = "exit 5" }));
        var done = $"{sessions}/{(string)exited!["id"]!}";
        await Wait.UntilAsync(async () => (string?)(await ExpectAsync(tenant, HttpMethod.Get, done, 200))!["status"] == "exited", "the session whose program exited to say so");
        await ExpectAsync(tenant, HttpMethod.Post, $"{done}/input", 409, Json(new JsonObject { ["text"] = "too late" }));
    }

    private static async Task FilesAsync(HttpClient tenant)
    {
        var files = $"/api/instances/{Box}/files";
        var written = await ExpectAsync(tenant, HttpMethod.Put, files + "?path=/tmp/conformance/a.bin&mode=0600", 200, Bytes([0, 1, 2, 255]));
        Assert.Equal(4, (long)written!["size_bytes"]!);
        Assert.Equal("0600", (string?)written["mode"]);
        await ExpectAsync(tenant, HttpMethod.Get, files + "?path=/tmp/conformance/a.bin", 200);
        await ExpectAsync(tenant, HttpMethod.Get, files, 400);
        await ExpectAsync(tenant, HttpMethod.Put, files + "?path=relative.txt", 400, Bytes([1]));
        await ExpectAsync(tenant, HttpMethod.Put, files + "?path=/tmp/x&mode=rwx", 400, Bytes([1]));
        await ExpectAsync(tenant, HttpMethod.Get, files + "?path=/tmp", 400);
        await ExpectAsync(tenant, HttpMethod.Get, files + "?path=/tmp/conformance/absent", 404);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/instances/no-such-box/files?path=/tmp/a", 404);

        // Refused on its declared length before a byte is read: with 100-continue the body is never sent.
        using var tooLarge = new HttpRequestMessage(HttpMethod.Put, files + "?path=/tmp/huge") { Content = new DeclaredLengthContent((1L << 30) + 1) };
        tooLarge.Headers.ExpectContinue = true;
        using var refused = await tenant.SendAsync(tooLarge);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
    }

    private static ByteArrayContent Bytes(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    /// <summary>A body that says it is <c>length</c> bytes long; sending it would write zeros.</summary>
    private sealed class DeclaredLengthContent(long length) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var zeros = new byte[64 * 1024];
            for (var left = length; left > 0; left -= zeros.Length)
            {
                await stream.WriteAsync(zeros.AsMemory(0, (int)Math.Min(zeros.Length, left)));
            }
        }

        protected override bool TryComputeLength(out long computed)
        {
            computed = length;
            return true;
        }
    }

    private static async Task WorkflowsAndRunsAsync(HttpClient tenant)
    {
        var waiting = new JsonObject
        {
            ["name"] = "conformance-wait",
            ["steps"] = new JsonArray(
                new JsonObject { ["id"] = "approval", ["uses"] = "wait_for_signal", ["with"] = new JsonObject { ["name"] = "go" } },
                new JsonObject { ["id"] = "hello", ["uses"] = "ssh.exec", ["with"] = new JsonObject { ["instance"] = Box, ["command"] = "echo hello; echo oops >&2" } }),
        };
        await ExpectAsync(tenant, HttpMethod.Post, "/api/workflows", 201, Json(waiting));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/workflows", 200, Json(waiting));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/workflows", 201, Text(
            $"name: conformance-fail\nsteps:\n  - id: boom\n    uses: ssh.exec\n    with:\n      instance: {Box}\n      command: exit 4\n", "application/yaml"));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/workflows", 400, Text("name: broken\nsteps:\n  - id: nap\n    uses: slep\n", "application/yaml"));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/workflows", 415, Text("name: x", "image/png"));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/workflows", 413, Text(new string('#', 300_000), "application/yaml"));
        await ExpectAsync(tenant, HttpMethod.Get, "/api/workflows", 200);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/workflows/schema", 200);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/workflows/conformance-wait", 200);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/workflows/no-such-workflow", 404);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/workflows/conformance-wait/versions/1", 200);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/workflows/conformance-wait/versions/first", 400);

        var run = await ExpectAsync(tenant, HttpMethod.Post, "/api/runs", 202, Json(new JsonObject { ["workflow"] = "conformance-wait" }));
        var id = (string)run!["id"]!;
        await ExpectAsync(tenant, HttpMethod.Post, "/api/runs", 404, Json(new JsonObject { ["workflow"] = "no-such-workflow" }));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/runs", 400, Json(new JsonObject { ["workflow"] = "conformance-wait", ["colour"] = "red" }));
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/runs/{id}", 200);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/runs/no-such-run", 404);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/runs?limit=10", 200);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/runs?limit=101", 400);
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/runs/{id}/retry", 409);
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/runs/{id}/signals/go", 202, Json(new JsonObject { ["by"] = "conformance" }));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/runs/no-such-run/signals/go", 404);
        // The streams end when the run has ended and every event was sent.
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/runs/{id}/events", 200, accept: "application/x-ndjson");
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/runs/{id}/events", 200, accept: "text/event-stream");
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/runs/{id}/events?after=x", 400);
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/runs/{id}/steps/hello/output", 200, accept: "text/plain");
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/runs/{id}/steps/hello/output", 200, accept: "application/json");
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/runs/{id}/steps/nope/output", 404);
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/runs/{id}/cancel", 202);

        var cancelled = await ExpectAsync(tenant, HttpMethod.Post, "/api/runs", 202, Json(new JsonObject { ["workflow"] = "conformance-wait", ["idempotency_key"] = Guid.NewGuid().ToString("N") }));
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/runs/{(string)cancelled!["id"]!}/cancel", 202);

        var failed = await ExpectAsync(tenant, HttpMethod.Post, "/api/runs", 202, Json(new JsonObject { ["workflow"] = "conformance-fail" }));
        var failedId = (string)failed!["id"]!;
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/runs/{failedId}/events", 200, accept: "application/x-ndjson");
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/runs/{failedId}/retry", 202);
    }

    private static async Task TransitionsAsync(HttpClient tenant)
    {
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/instances/{Box}/stop", 202);
        await SettleAsync(tenant, "stopped");
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/instances/{Box}/start", 202);
        await SettleAsync(tenant, "started");
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/instances/{Box}/restart", 202);
        await SettleAsync(tenant, "started");
        await ExpectAsync(tenant, HttpMethod.Post, "/api/instances/no-such-box/start", 404);
        await ExpectAsync(tenant, HttpMethod.Patch, $"/api/instances/{Box}", 202, Json(new JsonObject { ["size"] = "shared-cpu-2x" }));
        await SettleAsync(tenant, "started");
        await ExpectAsync(tenant, HttpMethod.Patch, $"/api/instances/{Box}", 400, Json(new JsonObject { ["size"] = "huge" }));
        await ExpectAsync(tenant, HttpMethod.Patch, "/api/instances/no-such-box", 404, Json(new JsonObject { ["size"] = "shared-cpu-2x" }));
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/instances/{Box}/volume/extend", 200, Json(new JsonObject { ["size_gb"] = 2 }));
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/instances/{Box}/volume/extend", 400, Json(new JsonObject { ["size_gb"] = 2 }));
        await ExpectAsync(tenant, HttpMethod.Post, "/api/instances/no-such-box/volume/extend", 404, Json(new JsonObject { ["size_gb"] = 2 }));
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/instances/{Box}/events", 200);
        await ExpectAsync(tenant, HttpMethod.Get, $"/api/instances/{Box}/events?limit=0", 400);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/instances/no-such-box/events", 404);
        await ExpectAsync(tenant, HttpMethod.Delete, $"/api/instances/{Box}", 200);
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/instances/{Box}/start", 409);
    }

    /// <summary>An environment cloned from a git daemon on loopback, git on it, and its deletion.</summary>
    private static async Task EnvironmentsAsync(HttpClient tenant)
    {
        await using var daemon = await GitDaemon.StartAsync("conformance-git-");
        await daemon.CreateRepositoryAsync("repo.git");
        var body = new JsonObject
        {
            ["name"] = "app",
            ["repo_url"] = daemon.UrlOf("repo.git"),
            ["region"] = "ams",
            ["size"] = "shared-cpu-1x",
            ["setup_command"] = "git config user.name Conformance && git config user.email c@example.com",
            ["env"] = new JsonObject { ["APP_ENV"] = "test" },
        };
        var created = await ExpectAsync(tenant, HttpMethod.Post, "/api/environments", 202, Json(body));
        var id = (string)created!["id"]!;
        await ExpectAsync(tenant, HttpMethod.Post, "/api/environments", 400, Json(new JsonObject { ["name"] = "../x", ["repo_url"] = "git://x/y", ["region"] = "ams", ["size"] = "shared-cpu-1x" }));
        await ExpectAsync(tenant, HttpMethod.Get, "/api/environments/env-0000000000000000", 404);
        await ExpectAsync(tenant, HttpMethod.Get, "/api/environments/Not-An-Id", 400);
        var git = $"/api/environments/{id}/git";
        await Wait.UntilAsync(
            async () => (string?)(await ExpectAsync(tenant, HttpMethod.Get, $"/api/environments/{id}", 200))!["status"] != "creating",
            $"environment {id} to be made",
            TimeSpan.FromSeconds(90));
        await ExpectAsync(tenant, HttpMethod.Get, "/api/environments", 200);
        await ExpectAsync(tenant, HttpMethod.Get, $"{git}/status", 200);
        await ExpectAsync(tenant, HttpMethod.Post, $"/api/instances/{id}/exec", 200, Json(new JsonObject { ["command"] = "echo more >> README.md", ["cwd"] = "/workspace/app" }), accept: "application/json");
        await ExpectAsync(tenant, HttpMethod.Get, $"{git}/diff", 200);
        await ExpectAsync(tenant, HttpMethod.Get, $"{git}/diff?staged=maybe", 400);
        await ExpectAsync(tenant, HttpMethod.Post, $"{git}/commit", 200, Json(new JsonObject { ["message"] = "more", ["all"] = true }));
        await ExpectAsync(tenant, HttpMethod.Post, $"{git}/commit", 409, Json(new JsonObject { ["message"] = "again", ["all"] = true }));
        await ExpectAsync(tenant, HttpMethod.Post, $"{git}/commit", 400, Json(new JsonObject { ["message"] = "" }));
        await ExpectAsync(tenant, HttpMethod.Get, $"{git}/log?limit=5", 200);
        await ExpectAsync(tenant, HttpMethod.Get, $"{git}/log?limit=0", 400);
        await ExpectAsync(tenant, HttpMethod.Post, $"{git}/push", 200, Json(new JsonObject { ["remote"] = "origin" }));
        await ExpectAsync(tenant, HttpMethod.Post, $"{git}/pull", 200);
        await ExpectAsync(tenant, HttpMethod.Post, $"{git}/checkout", 200, Json(new JsonObject { ["branch"] = "topic", ["create"] = true }));
        await ExpectAsync(tenant, HttpMethod.Post, $"{git}/checkout", 404, Json(new JsonObject { ["branch"] = "no-such-branch" }));
        await ExpectAsync(tenant, HttpMethod.Post, $"{git}/checkout", 400, Json(new JsonObject { ["branch"] = "bad..name" }));
        await ExpectAsync(tenant, HttpMethod.Get, "/api/environments/env-0000000000000000/git/status", 404);
        await ExpectAsync(tenant, HttpMethod.Delete, $"/api/environments/{id}?keep_volume=false", 204);
        await ExpectAsync(tenant, HttpMethod.Delete, $"/api/environments/{id}", 404);
    }

    private static async Task SettleAsync(HttpClient tenant, string state)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (true)
        {
            var instance = await ExpectAsync(tenant, HttpMethod.Get, $"/api/instances/{Box}", 200);
            if ((string?)instance!["state"] == state || DateTimeOffset.UtcNow > deadline)
            {
                Assert.Equal(state, (string?)instance["state"]);
                return;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends a request and checks its status (the handler validates the answer); returns a JSON body.</summary>
    private static async Task<JsonNode?> ExpectAsync(HttpClient client, HttpMethod method, string path, int status, HttpContent? body = null, string? accept = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body };
        if (accept is not null)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{method} {path}: expected {status}, got {(int)response.StatusCode} {text}");
        return response.Content.Headers.ContentType?.MediaType is "application/json" or "application/problem+json" ? JsonNode.Parse(text) : null;
    }

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static StringContent Text(string text, string mediaType) => new(text, Encoding.UTF8, mediaType);
}
