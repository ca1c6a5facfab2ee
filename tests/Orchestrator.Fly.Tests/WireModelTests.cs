using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Tests.Infrastructure;

namespace Orchestrator.Fly.Tests;

/// <summary>The wire records read every fixture body and write it back with Fly's property names.</summary>
public sealed class WireModelTests
{
    /// <summary>Every response fixture and the model it is read into.</summary>
    public static readonly IReadOnlyDictionary<string, Type> ResponseModels = new Dictionary<string, Type>
    {
        ["create-app.response.json"] = typeof(FlyCreateAppResponse),
        ["create-machine-with-services.response.json"] = typeof(FlyMachine),
        ["create-machine.response.json"] = typeof(FlyMachine),
        ["create-volume-from-snapshot.response.json"] = typeof(FlyVolume),
        ["create-volume-snapshot.response.json"] = typeof(FlyCreateSnapshotResponse),
        ["create-volume.response.json"] = typeof(FlyVolume),
        ["delete-volume.response.json"] = typeof(FlyVolume),
        ["extend-volume.response.json"] = typeof(FlyExtendVolumeResponse),
        ["get-app-legacy.response.json"] = typeof(FlyApp),
        ["get-app.response.json"] = typeof(FlyApp),
        ["get-machine-started.response.json"] = typeof(FlyMachine),
        ["get-machine.response.json"] = typeof(FlyMachine),
        ["get-volume.response.json"] = typeof(FlyVolume),
        ["lease-create-legacy.response.json"] = typeof(FlyLeaseResponse),
        ["lease-create.response.json"] = typeof(FlyLeaseResponse),
        ["lease-release.response.json"] = typeof(FlyLeaseReleaseResponse),
        ["list-apps.response.json"] = typeof(FlyAppList),
        ["list-machines.response.json"] = typeof(List<FlyMachine>),
        ["list-volume-snapshots.response.json"] = typeof(List<FlyVolumeSnapshot>),
        ["list-volumes.response.json"] = typeof(List<FlyVolume>),
        ["metadata-get.response.json"] = typeof(Dictionary<string, string>),
        ["ok.response.json"] = typeof(FlyOkResponse),
        ["start-machine.response.json"] = typeof(FlyStartMachineResponse),
        ["update-machine.response.json"] = typeof(FlyMachine),
        ["wait.response.json"] = typeof(FlyWaitResponse),
    };

    /// <summary>Every request fixture of the REST API and the model that writes it.</summary>
    public static readonly IReadOnlyDictionary<string, Type> RequestModels = new Dictionary<string, Type>
    {
        ["create-app.request.json"] = typeof(CreateAppRequest),
        ["create-machine-with-services.request.json"] = typeof(CreateMachineRequest),
        ["create-machine.request.json"] = typeof(CreateMachineRequest),
        ["create-volume-from-snapshot.request.json"] = typeof(CreateVolumeRequest),
        ["create-volume.request.json"] = typeof(CreateVolumeRequest),
        ["extend-volume.request.json"] = typeof(ExtendVolumeRequest),
        ["ip-assignment.request.json"] = typeof(CreateIpAssignmentRequest),
        ["lease-create.request.json"] = typeof(CreateLeaseRequest),
        ["metadata-upsert.request.json"] = typeof(FlyMetadataValue),
        ["update-machine.request.json"] = typeof(UpdateMachineRequest),
        ["update-volume.request.json"] = typeof(UpdateVolumeRequest),
    };

    // IPs are allocated through the REST ip_assignments endpoint; the GraphQL bodies document the legacy path only.
    private static readonly string[] _notSentByThisClient = ["graphql-allocate-shared-v4.request.json", "graphql-allocate-v6.request.json"];

    public static TheoryData<string> ResponseFixtures => [.. ResponseModels.Keys];

    public static TheoryData<string> RequestFixtures => [.. RequestModels.Keys];

    [Fact]
    public void Every_body_fixture_has_a_model()
    {
        Assert.Equal(FlyFixtures.Named("*.response.json"), ResponseModels.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(FlyFixtures.Named("*.request.json"), RequestModels.Keys.Concat(_notSentByThisClient).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ResponseFixtures))]
    public void Response_fixture_reads_and_writes_back_with_the_same_names(string fixture) =>
        AssertRoundTrip(fixture, ResponseModels[fixture]);

    [Theory]
    [MemberData(nameof(RequestFixtures))]
    public void Request_fixture_reads_and_writes_back_with_the_same_names(string fixture) =>
        AssertRoundTrip(fixture, RequestModels[fixture]);

    [Fact]
    public void Machine_fields_land_in_the_right_members()
    {
        var machine = Read<FlyMachine>("get-machine.response.json");

        Assert.Equal("73d8d46dbee589", machine.Id);
        Assert.Equal(FlyMachineStates.Stopped, machine.State);
        Assert.Equal("01G3SHPT434MNW8TS4ENX11RQY", machine.InstanceId);
        Assert.Equal("fdaa:0:3ec2:a7b:5adc:6068:5b85:2", machine.PrivateIp);
        Assert.Equal(new DateTimeOffset(2022, 5, 23, 22, 48, 21, TimeSpan.Zero), machine.CreatedAt);
        Assert.Equal(256, machine.Config!.Guest!.MemoryMb);
        Assert.Equal("shared", machine.Config.Guest.CpuKind);
        Assert.Equal(8080, machine.Config.Services![0].InternalPort);
        Assert.Equal(["tls", "http"], machine.Config.Services[0].Ports![0].Handlers!);
        Assert.Equal(127, machine.Events![0].Request!.ExitEvent!.ExitCode);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1653346106636), machine.Events[0].Time);
    }

    [Fact]
    public void Volume_and_lease_fields_land_in_the_right_members()
    {
        var volume = Read<FlyVolume>("get-volume.response.json");
        Assert.Equal(new DateTimeOffset(2023, 9, 1, 19, 47, 14, 774, TimeSpan.Zero), volume.CreatedAt);
        Assert.Equal(768250, volume.Blocks);
        Assert.Equal("6e8297dc244287", volume.AttachedMachineId);

        var lease = Read<FlyLeaseResponse>("lease-create.response.json");
        Assert.Equal("5c35f65c9f95", lease.Data!.Nonce);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1708569778), lease.Data.ExpiresAtTime);

        var extended = Read<FlyExtendVolumeResponse>("extend-volume.response.json");
        Assert.False(extended.NeedsRestart);
        Assert.Equal(10, extended.Volume!.SizeGb);
    }

    [Fact]
    public void Unknown_fields_do_not_break_reads()
    {
        var json = JsonNode.Parse(FlyFixtures.Read("get-machine.response.json"))!.AsObject();
        json["brand_new_field"] = new JsonObject { ["nested"] = new JsonArray(1, 2, 3) };
        json["config"]!["guest"]!["future_knob"] = "x";
        json["events"]![0]!["request"]!["something_else"] = new JsonObject { ["a"] = 1 };

        var machine = JsonSerializer.Deserialize(json.ToJsonString(), FlyJsonContext.Default.FlyMachine)!;

        Assert.Equal("73d8d46dbee589", machine.Id);
        Assert.Equal(1, machine.Config!.Guest!.Cpus);
    }

    [Fact]
    public void Autostop_reads_booleans_and_strings()
    {
        var services = JsonSerializer.Deserialize(
            """{"image":"x","services":[{"autostop":true},{"autostop":false},{"autostop":"suspend"}]}""",
            FlyJsonContext.Default.FlyMachineConfig)!.Services!;

        Assert.Equal(["stop", "off", "suspend"], services.Select(s => s.Autostop));
    }

    [Fact]
    public void Typed_requests_write_the_documented_bodies()
    {
        var createMachine = new CreateMachineRequest
        {
            Config = new FlyMachineConfig
            {
                Init = new FlyMachineInit { Exec = ["/bin/sleep", "inf"] },
                Image = "registry-1.docker.io/library/ubuntu:latest",
                AutoDestroy = true,
                Restart = new FlyMachineRestart { Policy = "always" },
                Guest = new FlyGuest { CpuKind = "shared", Cpus = 1, MemoryMb = 256 },
            },
        };
        JsonShape.AssertSame(FlyFixtures.Read("create-machine.request.json"), Write(createMachine), "create-machine.request.json");

        var createApp = new CreateAppRequest { AppName = "my-app-name", OrgSlug = "personal", Network = "my-optional-network" };
        JsonShape.AssertSame(FlyFixtures.Read("create-app.request.json"), Write(createApp), "create-app.request.json");

        var fromSnapshot = new CreateVolumeRequest { Name = "my-app-vol", Region = "yyz", SizeGb = 3, SnapshotId = "vs_evl65mZQ937tQ16xGGDX8BN" };
        JsonShape.AssertSame(FlyFixtures.Read("create-volume-from-snapshot.request.json"), Write(fromSnapshot), "create-volume-from-snapshot.request.json");

        JsonShape.AssertSame(FlyFixtures.Read("update-volume.request.json"), Write(new UpdateVolumeRequest { SnapshotRetention = 10 }), "update-volume.request.json");
    }

    [Fact]
    public void Volume_placement_hints_are_written_as_compute_and_compute_image()
    {
        var request = new CreateVolumeRequest
        {
            Name = "data",
            Region = "ord",
            Compute = new FlyGuest { CpuKind = "shared", Cpus = 2, MemoryMb = 1024 },
            ComputeImage = "registry-1.docker.io/library/ubuntu:24.04",
        };

        JsonShape.AssertSame(
            """{"name":"data","region":"ord","compute":{"cpu_kind":"shared","cpus":2,"memory_mb":1024},"compute_image":"registry-1.docker.io/library/ubuntu:24.04"}""",
            Write(request),
            "volume create with placement hints");
    }

    private static void AssertRoundTrip(string fixture, Type type)
    {
        var json = FlyFixtures.Read(fixture);
        var model = JsonSerializer.Deserialize(json, FlyJsonContext.Default.GetTypeInfo(type)!);
        Assert.NotNull(model);
        var written = JsonSerializer.Serialize(model, FlyJsonContext.Default.GetTypeInfo(type)!);
        JsonShape.AssertSame(json, written, fixture);
    }

    private static T Read<T>(string fixture) =>
        (T)JsonSerializer.Deserialize(FlyFixtures.Read(fixture), FlyJsonContext.Default.GetTypeInfo(typeof(T))!)!;

    private static string Write<T>(T value) => JsonSerializer.Serialize(value, FlyJsonContext.Default.GetTypeInfo(typeof(T))!);
}
