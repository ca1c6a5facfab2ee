using Orchestrator.Testing;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Tests.Infrastructure;

namespace Orchestrator.Fly.Tests;

/// <summary>Each provider call goes out with Fly's method, path, query and body, and reads Fly's answer.</summary>
public sealed class WireRequestTests : IAsyncLifetime
{
    private const string App = FlyClientHost.AppName;
    private const string MachineId = "73d8d46dbee589";
    private const string VolumeId = "vol_9vw681egy1jj5xm4";

    private FlyTestServer _server = null!;
    private FlyClientHost _host = null!;

    public async Task InitializeAsync()
    {
        _server = await FlyTestServer.StartAsync(Serve);
        _host = FlyClientHost.Create(_server.BaseAddress);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _server.DisposeAsync();
    }

    private IMachineProvider Provider => _host.Provider;

    private RecordedRequest Last => _server.Requests[^1];

    [Fact]
    public async Task Create_machine_sends_the_documented_body_plus_our_client_token()
    {
        var request = new CreateMachineRequest
        {
            Name = "machine-syd",
            Region = "syd",
            Config = new FlyMachineConfig
            {
                Image = "flyio/fastify-functions",
                Env = new Dictionary<string, string> { ["APP_ENV"] = "production" },
                Services =
                [
                    new FlyMachineService
                    {
                        Protocol = "tcp",
                        InternalPort = 8080,
                        Ports = [new FlyMachinePort { Port = 443, Handlers = ["tls", "http"] }, new FlyMachinePort { Port = 80, Handlers = ["http"] }],
                    },
                ],
            },
        };

        var machine = await Provider.CreateMachineAsync(App, request, idempotencyKey: "key-1");

        Assert.Equal("24d896dec64879", machine.Id);
        var post = Assert.Single(_server.RequestsTo("POST", "/machines"));
        var body = JsonNode.Parse(post.Body)!.AsObject();
        Assert.Equal("key-1", body["config"]!["metadata"]![FlyMetadataKeys.ClientToken]!.GetValue<string>());
        body["config"]!.AsObject().Remove("metadata");
        JsonShape.AssertSame(FlyFixtures.Read("create-machine-with-services.request.json"), body.ToJsonString(), "create machine body");
    }

    [Fact]
    public async Task Update_machine_sends_the_documented_body()
    {
        var request = new UpdateMachineRequest
        {
            Config = new FlyMachineConfig
            {
                Image = "flyio/fastify-functions",
                Guest = new FlyGuest { MemoryMb = 512, Cpus = 2, CpuKind = "shared" },
                Env = new Dictionary<string, string> { ["APP_ENV"] = "production" },
                Services =
                [
                    new FlyMachineService
                    {
                        Protocol = "tcp",
                        InternalPort = 8080,
                        Ports = [new FlyMachinePort { Port = 443, Handlers = ["tls", "http"] }, new FlyMachinePort { Port = 80, Handlers = ["http"] }],
                    },
                ],
            },
        };

        var updated = await Provider.UpdateMachineAsync(App, MachineId, request);

        Assert.Equal("01G3SHPYE8XZ58GD4XRRF9CCKC", updated.InstanceId);
        Assert.Equal($"/v1/apps/{App}/machines/{MachineId}", Last.Path);
        JsonShape.AssertSame(FlyFixtures.Read("update-machine.request.json"), Last.Body, "update-machine.request.json");
    }

    [Fact]
    public async Task List_machines_sends_filters_as_query()
    {
        var machines = await Provider.ListMachinesAsync(App, new MachineListFilter
        {
            IncludeDeleted = true,
            State = "started,stopped",
            Metadata = new Dictionary<string, string> { ["tenant"] = "t 1" },
        });

        Assert.Equal(2, machines.Count);
        Assert.Equal($"/v1/apps/{App}/machines", Last.Path);
        Assert.Equal("true", Last.QueryValue("include_deleted"));
        Assert.Equal("started,stopped", Last.QueryValue("state"));
        Assert.Equal("t 1", Last.QueryValue("metadata.tenant"));
    }

    [Fact]
    public async Task Machine_actions_use_their_endpoints()
    {
        var started = await Provider.StartMachineAsync(App, MachineId);
        Assert.Equal("stopped", started.PreviousState);
        Assert.Equal($"POST /v1/apps/{App}/machines/{MachineId}/start", $"{Last.Method} {Last.Path}");

        await Provider.StopMachineAsync(App, MachineId, new StopMachineRequest { Signal = "SIGTERM", Timeout = "30s" });
        Assert.Equal($"POST /v1/apps/{App}/machines/{MachineId}/stop", $"{Last.Method} {Last.Path}");
        JsonShape.AssertSame("""{"signal":"SIGTERM","timeout":"30s"}""", Last.Body, "stop body");

        await Provider.RestartMachineAsync(App, MachineId, TimeSpan.FromSeconds(15), "SIGTERM");
        Assert.Equal($"POST /v1/apps/{App}/machines/{MachineId}/restart", $"{Last.Method} {Last.Path}");
        Assert.Equal("15s", Last.QueryValue("timeout"));
        Assert.Equal("SIGTERM", Last.QueryValue("signal"));

        await Provider.SignalMachineAsync(App, MachineId, "SIGUSR1");
        JsonShape.AssertSame("""{"signal":"SIGUSR1"}""", Last.Body, "signal body");

        await Provider.DeleteMachineAsync(App, MachineId, force: true);
        Assert.Equal($"DELETE /v1/apps/{App}/machines/{MachineId}", $"{Last.Method} {Last.Path}");
        Assert.Equal("true", Last.QueryValue("force"));

        await Provider.DeleteMachineAsync(App, MachineId);
        Assert.Null(Last.QueryValue("force"));

        var events = await Provider.ListMachineEventsAsync(App, MachineId, limit: 50);
        Assert.Equal("50", Last.QueryValue("limit"));
        Assert.Equal("exit", events[0].Type);
    }

    [Fact]
    public async Task Metadata_is_read_and_written()
    {
        var metadata = await Provider.GetMachineMetadataAsync(App, MachineId);
        Assert.Equal("app", metadata["fly_process_group"]);

        await Provider.SetMachineMetadataAsync(App, MachineId, "foo", "bar");
        Assert.Equal($"POST /v1/apps/{App}/machines/{MachineId}/metadata/foo", $"{Last.Method} {Last.Path}");
        JsonShape.AssertSame(FlyFixtures.Read("metadata-upsert.request.json"), Last.Body, "metadata-upsert.request.json");
    }

    [Fact]
    public async Task Apps_use_their_endpoints()
    {
        var app = await Provider.GetAppAsync("my-app-name");
        Assert.Equal("personal", app.Organization!.Slug);

        var apps = await Provider.ListAppsAsync();
        Assert.Equal("my-app-1", Assert.Single(apps).Name);
        Assert.Equal("/v1/apps", Last.Path);
        Assert.Equal("personal", Last.QueryValue("org_slug"));

        await Provider.DeleteAppAsync("my-app-name", force: true);
        Assert.Equal("DELETE /v1/apps/my-app-name", $"{Last.Method} {Last.Path}");
        Assert.Equal("true", Last.QueryValue("force"));
    }

    [Fact]
    public async Task Volumes_use_their_endpoints_and_documented_bodies()
    {
        var created = await Provider.CreateVolumeAsync(App, new CreateVolumeRequest { Name = "my_app_vol", Region = "ord", SizeGb = 10 });
        Assert.Equal("vol_340088w293z35lp4", created.Id);
        Assert.Equal($"POST /v1/apps/{App}/volumes", $"{Last.Method} {Last.Path}");
        JsonShape.AssertSame(FlyFixtures.Read("create-volume.request.json"), Last.Body, "create-volume.request.json");

        var volume = await Provider.GetVolumeAsync(App, VolumeId);
        Assert.Equal("ext4", volume.Fstype);
        Assert.Equal($"GET /v1/apps/{App}/volumes/{VolumeId}", $"{Last.Method} {Last.Path}");

        Assert.Equal(2, (await Provider.ListVolumesAsync(App)).Count);

        var extended = await Provider.ExtendVolumeAsync(App, VolumeId, 10);
        Assert.False(extended.NeedsRestart);
        Assert.Equal($"PUT /v1/apps/{App}/volumes/{VolumeId}/extend", $"{Last.Method} {Last.Path}");
        JsonShape.AssertSame(FlyFixtures.Read("extend-volume.request.json"), Last.Body, "extend-volume.request.json");

        var deleted = await Provider.DeleteVolumeAsync(App, VolumeId);
        Assert.Equal("destroyed", deleted.State);
        Assert.Equal($"DELETE /v1/apps/{App}/volumes/{VolumeId}", $"{Last.Method} {Last.Path}");

        Assert.Equal(6, (await Provider.ListVolumeSnapshotsAsync(App, VolumeId)).Count);
    }

    [Fact]
    public async Task Ip_assignments_use_the_rest_endpoints()
    {
        var v6 = await Provider.AllocateIpAddressAsync(App, FlyIpAddressTypes.V6);
        Assert.Equal("2a09:8280:1::4e:1", v6.Ip);
        Assert.Equal($"POST /v1/apps/{App}/ip_assignments", $"{Last.Method} {Last.Path}");
        JsonShape.AssertSame("""{"type":"v6"}""", Last.Body, "allocate v6");

        await Provider.AllocateIpAddressAsync(App, FlyIpAddressTypes.DedicatedV4);
        JsonShape.AssertSame("""{"type":"v4"}""", Last.Body, "allocate dedicated v4");

        await Provider.AllocateIpAddressAsync(App, FlyIpAddressTypes.SharedV4);
        JsonShape.AssertSame(FlyFixtures.Read("ip-assignment.request.json"), Last.Body, "ip-assignment.request.json");

        var ips = await Provider.ListIpAddressesAsync(App);
        Assert.Equal(2, ips.Count);
        Assert.Equal($"GET /v1/apps/{App}/ip_assignments", $"{Last.Method} {Last.Path}");

        await Provider.ReleaseIpAddressAsync(App, "2a09:8280:1::4e:1");
        Assert.Equal($"DELETE /v1/apps/{App}/ip_assignments/2a09:8280:1::4e:1", $"{Last.Method} {Uri.UnescapeDataString(Last.Path)}");
    }

    // No public capture of an ip_assignments answer exists; this one follows the fields the reference lists.
    private const string IpAssignment = """{"ip":"2a09:8280:1::4e:1","region":"global","service_name":"","shared":false,"created_at":"2026-01-01T00:00:00Z","type":"v6"}""";

    private static Task Serve(HttpContext context, RecordedRequest request)
    {
        var segments = request.Path.Split('/', StringSplitOptions.RemoveEmptyEntries)[1..]; // after "v1"
        var route = string.Join('/', segments.Select((s, i) => i is 1 or 3 or >= 5 ? "*" : s));
        return (request.Method, route) switch
        {
            ("GET", "apps") => FlyTestServer.RespondFixture(context, 200, "list-apps.response.json"),
            ("GET", "apps/*") => FlyTestServer.RespondFixture(context, 200, "get-app.response.json"),
            ("DELETE", "apps/*") => FlyTestServer.Respond(context, 202),
            ("POST", "apps/*/machines") => FlyTestServer.RespondFixture(context, 200, "create-machine-with-services.response.json"),
            ("GET", "apps/*/machines") => FlyTestServer.RespondFixture(context, 200, "list-machines.response.json"),
            ("POST", "apps/*/machines/*") => FlyTestServer.RespondFixture(context, 200, "update-machine.response.json"),
            ("POST", "apps/*/machines/*/start") => FlyTestServer.RespondFixture(context, 200, "start-machine.response.json"),
            ("GET", "apps/*/machines/*/events") => FlyTestServer.Respond(context, 200, JsonNode.Parse(FlyFixtures.Read("get-machine.response.json"))!["events"]!.ToJsonString()),
            ("GET", "apps/*/machines/*/metadata") => FlyTestServer.RespondFixture(context, 200, "metadata-get.response.json"),
            ("POST", "apps/*/machines/*/metadata/*") => FlyTestServer.Respond(context, 204),
            ("POST", "apps/*/volumes") => FlyTestServer.RespondFixture(context, 200, "create-volume.response.json"),
            ("GET", "apps/*/volumes") => FlyTestServer.RespondFixture(context, 200, "list-volumes.response.json"),
            ("GET", "apps/*/volumes/*") => FlyTestServer.RespondFixture(context, 200, "get-volume.response.json"),
            ("PUT", "apps/*/volumes/*/extend") => FlyTestServer.RespondFixture(context, 200, "extend-volume.response.json"),
            ("DELETE", "apps/*/volumes/*") => FlyTestServer.RespondFixture(context, 200, "delete-volume.response.json"),
            ("GET", "apps/*/volumes/*/snapshots") => FlyTestServer.RespondFixture(context, 200, "list-volume-snapshots.response.json"),
            ("POST", "apps/*/ip_assignments") => FlyTestServer.Respond(context, 200, IpAssignment),
            ("GET", "apps/*/ip_assignments") => FlyTestServer.Respond(context, 200, $$"""{"ips":[{{IpAssignment}},{{IpAssignment.Replace("2a09:8280:1::4e:1", "137.66.1.1", StringComparison.Ordinal)}}]}"""),
            ("DELETE", "apps/*/ip_assignments/*") => FlyTestServer.Respond(context, 204),
            _ => FlyTestServer.RespondFixture(context, 200, "ok.response.json"),
        };
    }
}
