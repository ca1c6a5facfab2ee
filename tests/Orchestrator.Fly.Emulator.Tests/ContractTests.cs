using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>One emulator for every contract case (each case makes its own app).</summary>
public sealed class ContractEmulator : IAsyncLifetime
{
    internal TestEmulator Emulator { get; private set; } = null!;

    public async Task InitializeAsync() =>
        // Long enough that a call right after create or update still meets created / replacing.
        Emulator = await TestEmulator.StartAsync(o => o.TransitionDelay = TimeSpan.FromMilliseconds(150));

    public async Task DisposeAsync() => await Emulator.DisposeAsync();
}

/// <summary>
/// For every response body in Fixtures/fly, the same call against the emulator answers with the same
/// status and the same JSON shape (see <see cref="JsonShape"/>); where the fixture's message is known
/// exactly, the message too.
/// </summary>
public sealed partial class ContractTests(ContractEmulator fixture) : IClassFixture<ContractEmulator>
{
    public static TheoryData<string> ResponseFixtures => new(Fixtures.ResponseFiles());

    [Theory]
    [MemberData(nameof(ResponseFixtures))]
    public async Task TheEmulatorAnswersLikeTheFixture(string fixtureName)
    {
        Assert.True(ContractScenarios.All.TryGetValue(fixtureName, out var scenario), $"No contract scenario for {fixtureName}.");
        var context = new ContractContext(fixture.Emulator);

        var response = await scenario.Call(context);

        Assert.True((int)response.Status == scenario.Status, $"{fixtureName}: expected HTTP {scenario.Status}, got {(int)response.Status}: {response.Text}");
        Assert.False(string.IsNullOrEmpty(response.Headers.TryGetValues("fly-request-id", out var ids) ? ids.First() : null), "fly-request-id header missing");
        var expected = Fixtures.Load(fixtureName);
        JsonShape.AssertMatches(fixtureName, expected, response.Body, scenario.Schema);
        if (scenario.Message is { } message)
        {
            Assert.Equal(message, response.Error);
        }

        if (scenario.MessagePattern is { } pattern)
        {
            Assert.Matches(pattern, response.Error ?? response.Object["message"]?.GetValue<string>() ?? "");
        }
    }

    [Fact]
    public void EveryResponseFixtureHasAScenarioAndEveryScenarioAFixture()
    {
        var files = Fixtures.ResponseFiles();

        Assert.Empty(files.Except(ContractScenarios.All.Keys));
        Assert.Empty(ContractScenarios.All.Keys.Except(files));
        Assert.True(files.Count >= 45, $"Only {files.Count} response fixtures found in {Fixtures.Directory}");
    }
}

/// <summary>How one fixture is reproduced: the call, the status Fly gives, and what more than the shape is checked.</summary>
internal sealed record ContractScenario(
    int Status,
    Func<ContractContext, Task<FlyResponse>> Call,
    ShapeSchema? Schema = null,
    string? Message = null,
    Regex? MessagePattern = null);

internal sealed class ContractContext(TestEmulator emulator)
{
    public FlyHttp Fly => emulator.Fly;

    public FlyEmulator Emulator => emulator.Emulator;

    public Task<string> AppAsync() => Fly.CreateAppAsync();

    public static JsonObject Request(string fixture, Action<JsonObject>? change = null)
    {
        var body = Fixtures.Object(fixture);
        change?.Invoke(body);
        return body;
    }

    /// <summary>A fresh app with one machine made from <paramref name="requestFixture"/>, started.</summary>
    public async Task<(string App, JsonObject Machine)> StartedMachineAsync(string requestFixture = "create-machine-with-services.request.json")
    {
        var app = await AppAsync();
        var machine = await Fly.StartedMachineAsync(app, Request(requestFixture));
        return (app, machine);
    }

    public async Task<(string App, string Machine)> StoppedMachineAsync()
    {
        var (app, machine) = await StartedMachineAsync();
        var id = machine.Str("id");
        (await Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);
        await Fly.WaitForAsync(app, id, "stopped", machine.Str("instance_id"));
        return (app, id);
    }

    public async Task<(string App, string Machine)> IdleMachineAsync()
    {
        var app = await AppAsync();
        var machine = await Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true));
        return (app, machine.Str("id"));
    }

    public async Task<(string App, string Volume)> VolumeAsync(string region = "ord", int size = 3)
    {
        var app = await AppAsync();
        var volume = (await Fly.PostAsync($"/v1/apps/{app}/volumes", new JsonObject { ["name"] = "data", ["region"] = region, ["size_gb"] = size }))
            .Expect(HttpStatusCode.OK).Object;
        return (app, volume.Str("id"));
    }

    /// <summary>A volume mounted by a (not launched) machine, so that it reports attached_machine_id.</summary>
    public async Task<(string App, string Volume, string Machine)> AttachedVolumeAsync(int size = 3)
    {
        var (app, volume) = await VolumeAsync(size: size);
        var config = new JsonObject { ["image"] = "ubuntu", ["mounts"] = new JsonArray(new JsonObject { ["volume"] = volume, ["path"] = "/data" }) };
        var machine = await Fly.CreateMachineAsync(app, FlyHttp.MachineBody(config: config, skipLaunch: true));
        return (app, volume, machine.Str("id"));
    }

    public async Task<(string App, string Machine, string Nonce)> LeasedMachineAsync()
    {
        var (app, id) = await IdleMachineAsync();
        var lease = (await Fly.PostAsync($"/v1/apps/{app}/machines/{id}/lease", Request("lease-create.request.json"))).Expect(HttpStatusCode.Created);
        return (app, id, lease.Object["data"].Str("nonce"));
    }

    /// <summary>Runs <paramref name="call"/> with a one-shot fault that answers with the fixture's own status and body.</summary>
    public async Task<FlyResponse> WithFaultAsync(string target, string fixture, int status, Func<Task<FlyResponse>> call)
    {
        var body = Fixtures.Object(fixture);
        var id = Emulator.FaultInjection.Add(new FaultRule
        {
            Target = target,
            Status = status,
            Message = body["error"]?.GetValue<string>(),
            ErrorCode = body["status"]?.GetValue<string>(),
            Times = 1,
        });
        try
        {
            return await call();
        }
        finally
        {
            Emulator.FaultInjection.Remove(id);
        }
    }
}

internal static partial class ContractScenarios
{
    private static readonly ShapeSchema Machine = Fixtures.OpenApi.Named("Machine");
    private static readonly ShapeSchema App = Fixtures.OpenApi.Named("App");

    public static readonly IReadOnlyDictionary<string, ContractScenario> All = new Dictionary<string, ContractScenario>(StringComparer.Ordinal)
    {
        // Apps
        ["create-app.response.json"] = new(201, c => c.Fly.PostAsync("/v1/apps", ContractContext.Request("create-app.request.json", r => r["app_name"] = "app-" + Guid.NewGuid().ToString("N")[..10]))),
        ["get-app.response.json"] = new(200, async c => await c.Fly.GetAsync($"/v1/apps/{await c.AppAsync()}"), App),
        ["get-app-legacy.response.json"] = new(200, async c => await c.Fly.GetAsync($"/v1/apps/{await c.AppAsync()}"), App),
        ["list-apps.response.json"] = new(200, async c =>
        {
            var org = "org-" + Guid.NewGuid().ToString("N")[..8];
            await c.Fly.CreateAppAsync(org: org);
            return await c.Fly.GetAsync($"/v1/apps?org_slug={org}");
        }, Fixtures.OpenApi.Named("ListAppsResponse")),
        ["error-404-app-not-found.json"] = new(404, c => c.Fly.GetAsync("/v1/apps/no-such-app-here"), Message: "app not found"),
        ["error-404-could-not-find-app.json"] = new(404, c => c.Fly.DeleteAsync("/v1/apps/no-such-app-here")),
        ["error-422-app-name-taken.json"] = new(422, async c =>
        {
            var app = await c.AppAsync();
            return await c.Fly.PostAsync("/v1/apps", new JsonObject { ["app_name"] = app, ["org_slug"] = "other-org" });
        }, Message: "Validation failed: Name has already been taken"),
        ["error-401-token-validation.json"] = new(401, async c =>
        {
            using var anonymous = TestEmulator.Client(c.Emulator, authorization: null);
            return await new FlyHttp(anonymous).GetAsync("/v1/apps?org_slug=personal");
        }, Message: "Authenticate: token validation error"),
        ["error-403-unauthorized.json"] = new(403, async c =>
        {
            var app = await c.AppAsync();
            return await c.WithFaultAsync("Apps_show", "error-403-unauthorized.json", 403, () => c.Fly.GetAsync($"/v1/apps/{app}"));
        }, Message: "unauthorized"),

        // Machines
        ["create-machine.response.json"] = new(200, async c =>
            await c.Fly.PostAsync($"/v1/apps/{await c.AppAsync()}/machines", ContractContext.Request("create-machine.request.json")), Machine),
        ["create-machine-with-services.response.json"] = new(200, async c =>
            await c.Fly.PostAsync($"/v1/apps/{await c.AppAsync()}/machines", ContractContext.Request("create-machine-with-services.request.json")), Machine),
        ["get-machine-started.response.json"] = new(200, async c =>
        {
            var (app, machine) = await c.StartedMachineAsync();
            return await c.Fly.GetAsync($"/v1/apps/{app}/machines/{machine.Str("id")}");
        }, Machine),
        ["get-machine.response.json"] = new(200, async c =>
        {
            var (app, id) = await c.StoppedMachineAsync();
            return await c.Fly.GetAsync($"/v1/apps/{app}/machines/{id}");
        }, Machine),
        ["list-machines.response.json"] = new(200, async c =>
        {
            var (app, _) = await c.StartedMachineAsync();
            return await c.Fly.GetAsync($"/v1/apps/{app}/machines");
        }, Shapes.ArrayOf(Machine)),
        ["update-machine.response.json"] = new(200, async c =>
        {
            var (app, machine) = await c.StartedMachineAsync();
            return await c.Fly.PostAsync($"/v1/apps/{app}/machines/{machine.Str("id")}", ContractContext.Request("update-machine.request.json"));
        }, Machine),
        ["start-machine.response.json"] = new(200, async c =>
        {
            var (app, id) = await c.StoppedMachineAsync();
            return await c.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/start");
        }),
        ["ok.response.json"] = new(200, async c =>
        {
            var (app, machine) = await c.StartedMachineAsync();
            return await c.Fly.PostAsync($"/v1/apps/{app}/machines/{machine.Str("id")}/stop", new JsonObject { ["signal"] = "SIGTERM", ["timeout"] = "30s" });
        }),
        ["wait.response.json"] = new(200, async c =>
        {
            var app = await c.AppAsync();
            var machine = await c.Fly.CreateMachineAsync(app);
            return await c.Fly.GetAsync($"/v1/apps/{app}/machines/{machine.Str("id")}/wait?state=started&timeout=10");
        }),
        ["metadata-get.response.json"] = new(200, async c =>
        {
            var (app, id) = await c.IdleMachineAsync();
            foreach (var (key, value) in Fixtures.Object("metadata-get.response.json"))
            {
                (await c.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/metadata/{key}", new JsonObject { ["value"] = value!.GetValue<string>() }))
                    .Expect(HttpStatusCode.NoContent);
            }

            return await c.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/metadata");
        }),
        ["error-404-machine-not-found.json"] = new(404, async c => await c.Fly.GetAsync($"/v1/apps/{await c.AppAsync()}/machines/0123456789abcd"), Message: "machine not found"),
        ["error-400-stop-bad-body.json"] = new(400, async c =>
        {
            var (app, machine) = await c.StartedMachineAsync();
            return await c.Fly.PostAsync($"/v1/apps/{app}/machines/{machine.Str("id")}/stop", "[]");
        }, Message: "json: cannot unmarshal array into Go value of type main.stopRequest"),
        ["error-400-wait-instance-id-required.json"] = new(400, async c =>
        {
            var (app, id) = await c.IdleMachineAsync();
            return await c.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=stopped&timeout=5");
        }, Message: "instance_id required when waiting for stopped machine"),
        ["error-408-wait-timeout.json"] = new(408, async c =>
        {
            var (app, id) = await c.StoppedMachineAsync();
            return await c.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=started&timeout=1");
        }, MessagePattern: WaitTimeoutPattern()),
        ["error-408-wait-timeout-deadline-exceeded.json"] = new(408, async c =>
        {
            var (app, id) = await c.StoppedMachineAsync();
            return await c.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=started&timeout=1");
        }, Message: "deadline_exceeded: machine failed to reach desired state, started, currently stopped"),
        ["error-412-start-while-replacing.json"] = new(412, async c =>
        {
            var (app, machine) = await c.StartedMachineAsync();
            var id = machine.Str("id");
            (await c.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", ContractContext.Request("update-machine.request.json"))).Expect(HttpStatusCode.OK);
            return await c.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/start");
        }, Message: "failed_precondition: machine getting replaced, refusing to start"),
        ["error-start-from-created-state.json"] = new(412, async c =>
        {
            var app = await c.AppAsync();
            var machine = await c.Fly.CreateMachineAsync(app);
            return await c.Fly.PostAsync($"/v1/apps/{app}/machines/{machine.Str("id")}/start");
        }, Message: "failed_precondition: unable to start machine from current state: 'created'"),
        ["error-409-insufficient-memory.json"] = new(409, async c =>
        {
            var (app, machine) = await c.StartedMachineAsync();
            return await c.WithFaultAsync("Machines_update", "error-409-insufficient-memory.json", 409, () =>
                c.Fly.PostAsync($"/v1/apps/{app}/machines/{machine.Str("id")}", ContractContext.Request("update-machine.request.json")));
        }),
        ["error-403-org-memory-quota.json"] = new(403, async c =>
        {
            var app = await c.AppAsync();
            return await c.WithFaultAsync("Machines_create", "error-403-org-memory-quota.json", 403, () =>
                c.Fly.PostAsync($"/v1/apps/{app}/machines", ContractContext.Request("create-machine.request.json")));
        }),
        ["error-412-insufficient-resources-volume.json"] = new(412, async c =>
        {
            var app = await c.AppAsync();
            return await c.WithFaultAsync("Machines_create", "error-412-insufficient-resources-volume.json", 412, () =>
                c.Fly.PostAsync($"/v1/apps/{app}/machines", ContractContext.Request("create-machine.request.json")));
        }),
        ["error-503-insufficient-capacity.json"] = new(503, async c =>
        {
            var app = await c.AppAsync();
            return await c.WithFaultAsync("Machines_create", "error-503-insufficient-capacity.json", 503, () =>
                c.Fly.PostAsync($"/v1/apps/{app}/machines", ContractContext.Request("create-machine.request.json")));
        }, Message: "out of capacity"),

        // Leases
        ["lease-create.response.json"] = new(201, async c =>
        {
            var (app, id) = await c.IdleMachineAsync();
            return await c.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/lease", ContractContext.Request("lease-create.request.json"));
        }),
        ["lease-create-legacy.response.json"] = new(201, async c =>
        {
            var (app, id) = await c.IdleMachineAsync();
            return await c.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/lease?ttl=60");
        }, Shapes.Example(Fixtures.Load("lease-create.response.json"))),
        ["lease-release.response.json"] = new(200, async c =>
        {
            var (app, id, nonce) = await c.LeasedMachineAsync();
            return await c.Fly.DeleteAsync($"/v1/apps/{app}/machines/{id}/lease", nonce);
        }),
        ["error-409-lease-conflict.json"] = new(409, async c =>
        {
            var (app, id, _) = await c.LeasedMachineAsync();
            return await c.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/lease", ContractContext.Request("lease-create.request.json"));
        }, MessagePattern: LeaseConflictPattern()),
        ["error-409-lease-held-write.json"] = new(409, async c =>
        {
            var (app, id, _) = await c.LeasedMachineAsync();
            return await c.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", ContractContext.Request("update-machine.request.json"));
        }, MessagePattern: LeaseHeldWritePattern()),

        // Volumes
        ["create-volume.response.json"] = new(200, async c =>
            await c.Fly.PostAsync($"/v1/apps/{await c.AppAsync()}/volumes", ContractContext.Request("create-volume.request.json"))),
        ["get-volume.response.json"] = new(200, async c =>
        {
            var (app, volume, _) = await c.AttachedVolumeAsync();
            return await c.Fly.GetAsync($"/v1/apps/{app}/volumes/{volume}");
        }),
        ["list-volumes.response.json"] = new(200, async c =>
        {
            var (app, _, _) = await c.AttachedVolumeAsync();
            (await c.Fly.PostAsync($"/v1/apps/{app}/volumes", new JsonObject { ["name"] = "spare", ["region"] = "iad" })).Expect(HttpStatusCode.OK);
            return await c.Fly.GetAsync($"/v1/apps/{app}/volumes");
        }),
        ["delete-volume.response.json"] = new(200, async c =>
        {
            var (app, volume) = await c.VolumeAsync();
            return await c.Fly.DeleteAsync($"/v1/apps/{app}/volumes/{volume}");
        }),
        ["extend-volume.response.json"] = new(200, async c =>
        {
            var (app, volume, _) = await c.AttachedVolumeAsync(size: 3);
            return await c.Fly.SendAsync(HttpMethod.Put, $"/v1/apps/{app}/volumes/{volume}/extend", ContractContext.Request("extend-volume.request.json"));
        }),
        ["list-volume-snapshots.response.json"] = new(200, async c =>
        {
            var (app, volume) = await c.VolumeAsync();
            (await c.Fly.PostAsync($"/v1/apps/{app}/volumes/{volume}/snapshots")).Expect(HttpStatusCode.OK);
            return await c.Fly.GetAsync($"/v1/apps/{app}/volumes/{volume}/snapshots");
        }, Shapes.ArrayOf(Fixtures.OpenApi.Named("VolumeSnapshot"))),
        ["create-volume-snapshot.response.json"] = new(200, async c =>
        {
            var (app, volume) = await c.VolumeAsync();
            return await c.Fly.PostAsync($"/v1/apps/{app}/volumes/{volume}/snapshots");
        }),
        ["create-volume-from-snapshot.response.json"] = new(200, async c =>
        {
            var (app, volume) = await c.VolumeAsync(region: "yyz");
            var snapshots = (await c.Fly.PostAsync($"/v1/apps/{app}/volumes/{volume}/snapshots")).Expect(HttpStatusCode.OK);
            var snapshotId = snapshots.Object["Msg"]!["backup"].Str("graph_id");
            return await c.Fly.PostAsync($"/v1/apps/{app}/volumes", ContractContext.Request("create-volume-from-snapshot.request.json", r =>
            {
                r["snapshot_id"] = snapshotId;
                r["name"] = "my_app_vol";
            }));
        }),
        ["error-404-volume-not-found.json"] = new(404, async c => await c.Fly.GetAsync($"/v1/apps/{await c.AppAsync()}/volumes/vol_0000000000000000"), Message: "volume not found"),
        ["error-delete-volume-bound.json"] = new(412, async c =>
        {
            var (app, volume, _) = await c.AttachedVolumeAsync();
            return await c.Fly.DeleteAsync($"/v1/apps/{app}/volumes/{volume}");
        }, MessagePattern: VolumeBoundPattern()),
        ["error-400-volume-no-capacity.json"] = new(400, async c =>
        {
            var app = await c.AppAsync();
            return await c.WithFaultAsync("Volumes_create", "error-400-volume-no-capacity.json", 400, () =>
                c.Fly.PostAsync($"/v1/apps/{app}/volumes", ContractContext.Request("create-volume.request.json")));
        }, Message: "no capacity"),
    };

    [GeneratedRegex("^(deadline_exceeded: )?machine failed to reach desired state, started, currently stopped$")]
    private static partial Regex WaitTimeoutPattern();

    [GeneratedRegex(@"^machine ID [0-9a-f]{14} lease currently held by [0-9a-f]+@tokens\.fly\.io, expires at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$")]
    private static partial Regex LeaseConflictPattern();

    [GeneratedRegex(@"^aborted: machine ID [0-9a-f]{14} lease currently held by [0-9a-f]+@tokens\.fly\.io, expires at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")]
    private static partial Regex LeaseHeldWritePattern();

    [GeneratedRegex("^failed_precondition: volume is currently bound to machine: [0-9a-f]{14}$")]
    private static partial Regex VolumeBoundPattern();
}
