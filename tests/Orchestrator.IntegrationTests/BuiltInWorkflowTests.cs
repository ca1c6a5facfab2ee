using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Testing;
using Orchestrator.Workflows;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The built-in templates end to end: the real workflow, unchanged, run by the run grain on a silo (PostgreSQL profile)
/// against emulator machines (real sandboxes with real sshd). Nothing of the orchestrator is faked; only what a machine
/// would download from the internet, which the test machines cannot reach, is replaced, and only through the inputs a
/// user could set as well. After each test no machine of it is left in the emulator.
/// </summary>
public sealed class BuiltInWorkflowTests(ExecFixture fixture) : IClassFixture<ExecFixture>
{
    private const string Tenant = "dev";

    /// <summary>
    /// Stands in for the real code-server, which the test machine cannot download (it has no internet): a python3
    /// http.server honouring <c>--version</c> and <c>--bind-addr host:port</c>, answering <c>/healthz</c> with 200
    /// only when <c>PASSWORD</c> is set, and <c>/login?password=...</c> with 200 only for that password.
    /// </summary>
    private const string CodeServerStandIn = """
        #!/usr/bin/python3
        # Stand-in for code-server written by the test: the machine has no internet to install the real editor.
        import http.server, os, socket, sys, urllib.parse
        if "--version" in sys.argv:
            print("code-server stand-in 0.0.0 (tests)")
            sys.exit(0)
        host, port = sys.argv[sys.argv.index("--bind-addr") + 1].rsplit(":", 1)
        host = host.strip("[]")
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                password = os.environ.get("PASSWORD", "")
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/healthz":
                    status = 200 if password else 503
                elif url.path == "/login":
                    given = urllib.parse.parse_qs(url.query).get("password", [""])[0]
                    status = 200 if password and given == password else 401
                else:
                    status = 404
                self.send_response(status)
                self.end_headers()
                self.wfile.write(str(status).encode())
        http.server.ThreadingHTTPServer.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        http.server.ThreadingHTTPServer((host, int(port)), Handler).serve_forever()
        """;

    /// <summary>The dev server of the test repository: serves the checkout on $PORT at the machine's private address.</summary>
    private const string DevServer = """
        import http.server, os, socket
        host = os.environ.get("FLY_PRIVATE_IP", "::")
        http.server.ThreadingHTTPServer.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        http.server.ThreadingHTTPServer((host, int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler).serve_forever()
        """;

    private IClusterClient Client => fixture.Silo.Client;

    [Fact]
    public async Task RepoPreviewClonesTheBranchFromARealGitServerBuildsStartsAndServesThePreview()
    {
        await using var daemon = await GitDaemon.StartAsync("repo-preview-");
        var page = $"<h1>preview of feature {Guid.NewGuid():N}</h1>";
        var commit = await CreateRepositoryAsync(Path.Combine(daemon.Root.FullName, "repo"), page);
        var port = LoopbackPort.Free();

        var run = await RunAsync(BuiltInWorkflows.RepoPreview, new Dictionary<string, object>
        {
            ["repo_url"] = daemon.UrlOf("repo"),
            ["branch"] = "feature",
            ["region"] = "ams",
            ["port"] = port,
            ["install_command"] = "test -f server.py && echo 'no dependencies' > installed.txt",
            // NODE_ENV is set on the machine only (not on the step): build.txt proves the machine's env reached it.
            ["build_command"] = """printf '%s %s' "$NODE_ENV" "$(git rev-parse HEAD)" > build.txt""",
            ["start_command"] = "python3 server.py",
        });

        Assert.True(run.Status == RunStatuses.Succeeded, Describe(run));
        var steps = run.Steps.ToDictionary(s => s.Id);
        Assert.Equal(StepStatuses.Skipped, steps["cleanup"].Status);
        var outputs = JsonNode.Parse(run.OutputsJson)!;
        var instanceId = outputs["instance_id"]!.GetValue<string>();
        Assert.Equal(commit, outputs["commit"]!.GetValue<string>());
        var machineOutputs = JsonNode.Parse(steps["machine"].OutputsJson)!;
        var privateIp = machineOutputs["private_ip"]!.GetValue<string>();
        Assert.Equal($"http://{privateIp}:{port}/", outputs["preview_url"]!.GetValue<string>());
        Assert.Contains(page, JsonNode.Parse(steps["healthy"].OutputsJson)!["page"]!.GetValue<string>(), StringComparison.Ordinal);

        // The preview answers the test, at the address the run reported, with what the branch committed and built.
        using var http = new HttpClient { BaseAddress = new Uri(outputs["preview_url"]!.GetValue<string>()) };
        Assert.Equal(page, (await http.GetStringAsync(new Uri("index.html", UriKind.Relative))).Trim());
        Assert.Equal("no dependencies", (await http.GetStringAsync(new Uri("installed.txt", UriKind.Relative))).Trim());
        Assert.Equal($"development {commit}", await http.GetStringAsync(new Uri("build.txt", UriKind.Relative)));

        // Env and resources are on the Fly machine; the checkout lives on the volume mounted at /workspace.
        var machine = Assert.Single(await MachinesAsync(instanceId));
        Assert.Equal("started", machine.GetProperty("state").GetString());
        var config = machine.GetProperty("config");
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), config.GetProperty("env").GetProperty("PORT").GetString());
        Assert.Equal("development", config.GetProperty("env").GetProperty("NODE_ENV").GetString());
        var (cpuKind, cpus, memoryMb) = InstanceSpecRules.Resolve(new InstanceSize("shared-cpu-2x"))!.Value;
        var guest = config.GetProperty("guest");
        Assert.Equal((cpuKind, cpus, memoryMb), (guest.GetProperty("cpu_kind").GetString(), guest.GetProperty("cpus").GetInt32(), guest.GetProperty("memory_mb").GetInt32()));
        var machineId = machine.GetProperty("id").GetString()!;
        var volume = Assert.Single(await VolumesAsync(), v => v.GetProperty("attached_machine_id").GetString() == machineId);
        Assert.Equal(10, volume.GetProperty("size_gb").GetInt32());
        var volumeDirectory = (await EmulatorGetAsync($"_emulator/machines/{machineId}")).GetProperty("volume_directory").GetString()!;
        Assert.Equal(page, (await File.ReadAllTextAsync(Path.Combine(volumeDirectory, "app", "index.html"))).Trim());

        await DestroyAndAssertGoneAsync(instanceId);
        Assert.DoesNotContain(await VolumesAsync(), v => v.GetProperty("id").GetString() == volume.GetProperty("id").GetString());
    }

    [Fact]
    public async Task CodeServerStartsTheEditorWithThePasswordSecretOnAMachineWithAVolumeAndAPublicIp()
    {
        const string password = "c0de-server-s3cret";
        var port = LoopbackPort.Free();
        // The machine has no internet: install_command writes a stand-in for code-server where the official
        // standalone install would put it (~/.local/bin). The template, its PATH and the password flow are real.
        var install = $"""
            mkdir -p "$HOME/.local/bin" && cat > "$HOME/.local/bin/code-server" <<'STANDIN'
            {CodeServerStandIn}
            STANDIN
            chmod +x "$HOME/.local/bin/code-server"
            """;

        var run = await RunAsync(
            BuiltInWorkflows.CodeServer,
            new Dictionary<string, object> { ["region"] = "ams", ["port"] = port, ["volume_gb"] = 1, ["install_command"] = install },
            new Dictionary<string, string> { ["CODE_SERVER_PASSWORD"] = password });

        Assert.True(run.Status == RunStatuses.Succeeded, Describe(run));
        var steps = run.Steps.ToDictionary(s => s.Id);
        var outputs = JsonNode.Parse(run.OutputsJson)!;
        var instanceId = outputs["instance_id"]!.GetValue<string>();
        Assert.Equal("code-server stand-in 0.0.0 (tests)", outputs["version"]!.GetValue<string>());
        var machineOutputs = JsonNode.Parse(steps["machine"].OutputsJson)!;
        var publicIp = machineOutputs["public_ip"]!.GetValue<string>();
        Assert.Equal(AddressFamily.InterNetworkV6, IPAddress.Parse(publicIp).AddressFamily);
        Assert.Equal($"http://[{publicIp}]:{port}/", outputs["url"]!.GetValue<string>());
        var privateUrl = outputs["private_url"]!.GetValue<string>();
        Assert.Equal($"http://{machineOutputs["private_ip"]!.GetValue<string>()}:{port}/", privateUrl);

        // The editor runs and holds exactly the secret: it accepts that password and no other.
        using var http = new HttpClient { BaseAddress = new Uri(privateUrl) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("healthz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"login?password={password}", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("login?password=guess", UriKind.Relative))).StatusCode);
        var events = await EventsAsync(run.RunId);
        Assert.DoesNotContain(events, e => e.Data.Contains(password, StringComparison.Ordinal));
        Assert.DoesNotContain(password, JsonSerializer.Serialize(run), StringComparison.Ordinal);

        // Machine, volume and public IP exist on Fly; destroying the instance removes all three.
        var machine = Assert.Single(await MachinesAsync(instanceId));
        var machineId = machine.GetProperty("id").GetString()!;
        var volume = Assert.Single(await VolumesAsync(), v => v.GetProperty("attached_machine_id").GetString() == machineId);
        Assert.Equal(1, volume.GetProperty("size_gb").GetInt32());
        Assert.Contains(publicIp, await PublicIpsAsync());

        await DestroyAndAssertGoneAsync(instanceId);
        Assert.DoesNotContain(await VolumesAsync(), v => v.GetProperty("id").GetString() == volume.GetProperty("id").GetString());
        Assert.DoesNotContain(publicIp, await PublicIpsAsync());
    }

    [Fact]
    public async Task UbuntuBoxReportsTheMachinesOsAndStaysStartedAfterSuccess()
    {
        var run = await RunAsync(BuiltInWorkflows.UbuntuBox, new Dictionary<string, object> { ["region"] = "ams" });

        Assert.True(run.Status == RunStatuses.Succeeded, Describe(run));
        var steps = run.Steps.ToDictionary(s => s.Id);
        Assert.Equal(StepStatuses.Skipped, steps["setup"].Status);
        Assert.Equal(StepStatuses.Skipped, steps["cleanup"].Status);
        var outputs = JsonNode.Parse(run.OutputsJson)!;
        // The emulator's machines bind the host's /etc: the OS is the host's, read inside the machine.
        var os = outputs["os"]!.GetValue<string>();
        Assert.NotEmpty(os);
        Assert.Equal(HostPrettyName(), os);
        var instanceId = outputs["instance_id"]!.GetValue<string>();
        Assert.Equal(outputs["private_ip"]!.GetValue<string>(), outputs["private_address"]!.GetValue<string>());

        await AssertStartedAsync(instanceId);
        await DestroyAndAssertGoneAsync(instanceId);
    }

    [Fact]
    public async Task UbuntuBoxCleansUpInFinallyWhenTheRunFailsUnlessKept()
    {
        const string failingSetup = "echo setting up; exit 3";
        var runs = await Task.WhenAll(
            RunAsync(BuiltInWorkflows.UbuntuBox, new Dictionary<string, object> { ["region"] = "mars" }),
            RunAsync(BuiltInWorkflows.UbuntuBox, new Dictionary<string, object> { ["region"] = "ams", ["setup_command"] = failingSetup }),
            RunAsync(BuiltInWorkflows.UbuntuBox, new Dictionary<string, object> { ["region"] = "ams", ["setup_command"] = failingSetup, ["keep"] = true }));
        var (badRegion, failed, kept) = (runs[0], runs[1], runs[2]);

        // The create step fails before any machine exists: cleanup still runs and finds nothing to destroy.
        Assert.Equal(RunStatuses.Failed, badRegion.Status);
        var steps = badRegion.Steps.ToDictionary(s => s.Id);
        Assert.Equal(StepStatuses.Failed, steps["box"].Status);
        Assert.Contains("'mars' is not a Fly region", steps["box"].Error, StringComparison.Ordinal);
        Assert.Equal(StepStatuses.Succeeded, steps["cleanup"].Status);
        Assert.Equal("absent", JsonNode.Parse(steps["cleanup"].OutputsJson)!["state"]!.GetValue<string>());
        Assert.Empty(await MachinesAsync($"ubuntu-{badRegion.RunId}"));

        // A failure after the machine exists: cleanup destroys it.
        Assert.Equal(RunStatuses.Failed, failed.Status);
        steps = failed.Steps.ToDictionary(s => s.Id);
        Assert.Equal(StepStatuses.Succeeded, steps["box"].Status);
        Assert.Contains("exited with 3", steps["setup"].Error, StringComparison.Ordinal);
        Assert.Equal(StepStatuses.Succeeded, steps["cleanup"].Status);
        var failedInstance = JsonNode.Parse(steps["box"].OutputsJson)!["id"]!.GetValue<string>();
        Assert.Equal(InstanceStates.Destroyed, (await Instance(failedInstance).GetAsync())!.ObservedState);
        await Wait.UntilAsync(async () => (await MachinesAsync(failedInstance)).Count == 0, $"the emulator to forget {failedInstance}'s machine");

        // The same failure with keep: true: cleanup is skipped and the machine stays up for inspection.
        Assert.Equal(RunStatuses.Failed, kept.Status);
        steps = kept.Steps.ToDictionary(s => s.Id);
        Assert.Contains("exited with 3", steps["setup"].Error, StringComparison.Ordinal);
        Assert.Equal(StepStatuses.Skipped, steps["cleanup"].Status);
        var keptInstance = JsonNode.Parse(steps["box"].OutputsJson)!["id"]!.GetValue<string>();
        await AssertStartedAsync(keptInstance);
        await DestroyAndAssertGoneAsync(keptInstance);
    }

    private IInstanceGrain Instance(string instanceId) => Client.GetGrain<IInstanceGrain>(InstanceKey.Format(Tenant, instanceId));

    private async Task<RunView> RunAsync(string workflow, Dictionary<string, object> inputs, IReadOnlyDictionary<string, string>? secrets = null)
    {
        var grain = Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(Tenant, "run-" + Guid.NewGuid().ToString("N")[..20]));
        await grain.StartAsync(new RunStartRequest(workflow, null, JsonSerializer.Serialize(inputs), secrets));
        RunView? view = null;
        try
        {
            await Wait.UntilAsync(async () => (view = await grain.GetAsync()) is { } v && RunStatuses.IsTerminal(v.Status), $"the {workflow} run to end");
        }
        catch (Xunit.Sdk.FailException ex) when (view is not null)
        {
            Assert.Fail($"{ex.Message} Last seen: {Describe(view)}; events: "
                + string.Join(" | ", (await EventsAsync(view.RunId)).TakeLast(20).Select(e => $"{e.Kind} {e.StepId}#{e.Attempt} {e.Data}")));
        }

        return view!;
    }

    private async Task<List<RunEvent>> EventsAsync(string runId)
    {
        var events = new List<RunEvent>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await foreach (var item in Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(Tenant, runId)).WatchAsync(0, stop.Token))
            {
                events.Add(item);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // A live run's watch ends only with the run (here: when a run did not end in time, for the message).
        }

        return events;
    }

    private async Task AssertStartedAsync(string instanceId)
    {
        Assert.Equal(InstanceStates.Started, (await Instance(instanceId).RefreshAsync()).ObservedState);
        Assert.Equal("started", Assert.Single(await MachinesAsync(instanceId)).GetProperty("state").GetString());
    }

    /// <summary>Destroys what a successful (or kept) run left, then checks Fly lists no machine of it.</summary>
    private async Task DestroyAndAssertGoneAsync(string instanceId)
    {
        await Instance(instanceId).DestroyAsync();
        await Wait.UntilAsync(async () => (await MachinesAsync(instanceId)).Count == 0, $"the emulator to have no machine of {instanceId}");
    }

    private async Task<List<JsonElement>> MachinesAsync(string instanceId) =>
        [.. (await EmulatorGetAsync($"v1/apps/{ExecFixture.AppName}/machines?metadata.orchestrator_tenant={Tenant}&metadata.orchestrator_instance={instanceId}")).EnumerateArray()];

    private async Task<List<JsonElement>> VolumesAsync() =>
        [.. (await EmulatorGetAsync($"v1/apps/{ExecFixture.AppName}/volumes")).EnumerateArray()];

    private async Task<List<string>> PublicIpsAsync() =>
        [.. (await EmulatorGetAsync($"v1/apps/{ExecFixture.AppName}/ip_assignments")).GetProperty("ips").EnumerateArray().Select(ip => ip.GetProperty("ip").GetString()!)];

    private async Task<JsonElement> EmulatorGetAsync(string path)
    {
        using var http = new HttpClient { BaseAddress = fixture.Emulator.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Emulator.ApiToken);
        return JsonSerializer.Deserialize<JsonElement>(await http.GetStringAsync(new Uri(path, UriKind.Relative)));
    }

    /// <summary>A repository whose branch <c>feature</c> (not the default) holds the page and the dev server; returns that commit.</summary>
    private static async Task<string> CreateRepositoryAsync(string directory, string page)
    {
        Directory.CreateDirectory(directory);
        await GitDaemon.RunGitAsync(directory, "init", "-q", "-b", "main");
        await File.WriteAllTextAsync(Path.Combine(directory, "README.md"), "main branch\n");
        await GitDaemon.RunGitAsync(directory, "add", ".");
        await GitDaemon.RunGitAsync(directory, "commit", "-q", "-m", "main");
        await GitDaemon.RunGitAsync(directory, "checkout", "-q", "-b", "feature");
        await File.WriteAllTextAsync(Path.Combine(directory, "index.html"), page + "\n");
        await File.WriteAllTextAsync(Path.Combine(directory, "server.py"), DevServer + "\n");
        await GitDaemon.RunGitAsync(directory, "add", ".");
        await GitDaemon.RunGitAsync(directory, "commit", "-q", "-m", "feature");
        var head = (await GitDaemon.RunGitAsync(directory, "rev-parse", "HEAD")).Trim();
        await GitDaemon.RunGitAsync(directory, "checkout", "-q", "main");
        return head;
    }

    private static string HostPrettyName() =>
        File.ReadLines("/etc/os-release").Single(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))["PRETTY_NAME=".Length..].Trim('"');

    private static string Describe(RunView run) =>
        $"{run.Workflow} {run.Status}: {run.Error}; " + string.Join("; ", run.Steps.Select(s => $"{s.Id}={s.Status} {s.Error}"));
}
