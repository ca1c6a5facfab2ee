using Orchestrator.Testing;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Tests.Infrastructure;

namespace Orchestrator.Fly.Tests;

/// <summary>A create is never blindly repeated: after an ambiguous failure the machine (or app) is looked for first.</summary>
public sealed class IdempotentCreateTests
{
    private static readonly CreateMachineRequest _ubuntu = new()
    {
        Config = new FlyMachineConfig
        {
            Image = "registry-1.docker.io/library/ubuntu:latest",
            Guest = new FlyGuest { CpuKind = "shared", Cpus = 1, MemoryMb = 256 },
            Metadata = new Dictionary<string, string> { ["tenant"] = "t1" },
        },
    };

    [Fact]
    public async Task Create_that_answers_503_after_creating_adopts_the_machine()
    {
        var fly = new FakeFlyMachines { OnCreate = _ => CreateOutcome.CreatedThen(503, """{"error":"upstream connect error"}""") };
        await using var server = await FlyTestServer.StartAsync(fly.HandleAsync);
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var machine = await host.Provider.CreateMachineAsync(FlyClientHost.AppName, _ubuntu);

        var stored = Assert.Single(fly.Machines);
        Assert.Equal(stored["id"]!.GetValue<string>(), machine.Id);
        Assert.Single(server.RequestsTo("POST", "/machines"));
        var lookup = Assert.Single(server.RequestsTo("GET", "/machines"));
        Assert.Equal(FakeFlyMachines.ClientTokenOf(stored), lookup.QueryValue("metadata." + FlyMetadataKeys.ClientToken));
        Assert.Contains(host.Logs.Lines, line => line.Contains("Adopted Fly machine " + machine.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Create_that_times_out_after_creating_adopts_the_machine()
    {
        var fly = new FakeFlyMachines { OnCreate = _ => CreateOutcome.CreatedThenStall(TimeSpan.FromSeconds(5)) };
        await using var server = await FlyTestServer.StartAsync(fly.HandleAsync);
        await using var host = FlyClientHost.Create(server.BaseAddress, s => s["Fly:AttemptTimeout"] = "00:00:00.300");

        var machine = await host.Provider.CreateMachineAsync(FlyClientHost.AppName, _ubuntu);

        Assert.Equal(Assert.Single(fly.Machines)["id"]!.GetValue<string>(), machine.Id);
        Assert.Single(server.RequestsTo("POST", "/machines"));
    }

    [Fact]
    public async Task Create_that_failed_before_creating_is_repeated_with_the_same_token()
    {
        var fly = new FakeFlyMachines
        {
            OnCreate = attempt => attempt == 1 ? CreateOutcome.Refused(502, """{"error":"bad gateway"}""") : CreateOutcome.Created,
        };
        await using var server = await FlyTestServer.StartAsync(fly.HandleAsync);
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var machine = await host.Provider.CreateMachineAsync(FlyClientHost.AppName, _ubuntu, idempotencyKey: "grain-42-gen-1");

        var stored = Assert.Single(fly.Machines);
        Assert.Equal(stored["id"]!.GetValue<string>(), machine.Id);
        var posts = server.RequestsTo("POST", "/machines");
        Assert.Equal(2, posts.Count);
        Assert.All(posts, post => Assert.Equal(
            "grain-42-gen-1",
            JsonNode.Parse(post.Body)!["config"]!["metadata"]![FlyMetadataKeys.ClientToken]!.GetValue<string>()));
        // The caller's own metadata is kept next to ours.
        Assert.Equal("t1", stored["config"]!["metadata"]!["tenant"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_gives_up_after_the_configured_attempts()
    {
        var fly = new FakeFlyMachines { OnCreate = _ => CreateOutcome.Refused(503, """{"error":"unavailable"}""") };
        await using var server = await FlyTestServer.StartAsync(fly.HandleAsync);
        await using var host = FlyClientHost.Create(server.BaseAddress, s => s["Fly:MaxCreateAttempts"] = "2");

        var ex = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.CreateMachineAsync(FlyClientHost.AppName, _ubuntu));

        Assert.Equal(FlyErrorCategory.Server, ex.Category);
        Assert.Equal(2, server.RequestsTo("POST", "/machines").Count);
        Assert.Equal(0, fly.Count);
    }

    [Fact]
    public async Task Create_refused_for_capacity_is_neither_looked_up_nor_repeated()
    {
        var fly = new FakeFlyMachines { OnCreate = _ => CreateOutcome.Refused(503, FlyFixtures.Read("error-503-insufficient-capacity.json")) };
        await using var server = await FlyTestServer.StartAsync(fly.HandleAsync);
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var ex = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.CreateMachineAsync(FlyClientHost.AppName, _ubuntu));

        Assert.Equal(FlyErrorCategory.Capacity, ex.Category);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Create_with_a_key_already_used_returns_the_existing_machine_without_posting()
    {
        var fly = new FakeFlyMachines();
        await using var server = await FlyTestServer.StartAsync(fly.HandleAsync);
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var first = await host.Provider.CreateMachineAsync(FlyClientHost.AppName, _ubuntu, idempotencyKey: "k-1");
        var again = await host.Provider.CreateMachineAsync(FlyClientHost.AppName, _ubuntu, idempotencyKey: "k-1");

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(1, fly.Count);
        Assert.Single(server.RequestsTo("POST", "/machines"));
    }

    [Fact]
    public async Task Lookup_ignores_machines_of_other_tokens_when_the_server_ignores_the_filter()
    {
        var fly = new FakeFlyMachines { OnCreate = _ => CreateOutcome.Refused(503, """{"error":"unavailable"}""") };
        await using var server = await FlyTestServer.StartAsync((context, request) =>
            request.Method == "GET"
                // A server that ignores metadata.* filters returns every machine of the app.
                ? FlyTestServer.RespondFixture(context, 200, "list-machines.response.json")
                : fly.HandleAsync(context, request));
        await using var host = FlyClientHost.Create(server.BaseAddress, s => s["Fly:MaxCreateAttempts"] = "2");

        await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.CreateMachineAsync(FlyClientHost.AppName, _ubuntu));

        Assert.Equal(2, server.RequestsTo("POST", "/machines").Count);
    }

    [Fact]
    public async Task App_create_that_got_no_answer_adopts_the_app_when_the_retry_hears_name_taken()
    {
        var created = 0;
        await using var server = await FlyTestServer.StartAsync(async (context, request) =>
        {
            if (request.Method == "POST")
            {
                if (Interlocked.Increment(ref created) == 1)
                {
                    // The app is made, but the answer is lost.
                    await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    return;
                }

                await FlyTestServer.RespondFixture(context, 422, "error-422-app-name-taken.json");
                return;
            }

            await FlyTestServer.RespondFixture(context, 200, "get-app.response.json");
        });
        await using var host = FlyClientHost.Create(server.BaseAddress, s => s["Fly:AttemptTimeout"] = "00:00:00.300");

        var app = await host.Provider.CreateAppAsync("my-app-name");

        Assert.Equal("jlyv9r5d56v18xrg", app.Id);
        Assert.Equal(2, server.RequestsTo("POST", "/v1/apps").Count);
        Assert.Single(server.RequestsTo("GET", "/v1/apps/my-app-name"));
    }

    [Fact]
    public async Task App_name_taken_on_the_first_attempt_is_not_ours()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 422, "error-422-app-name-taken.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var ex = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.CreateAppAsync("my-app-name"));

        Assert.Equal(FlyErrorCategory.Validation, ex.Category);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task App_create_sends_both_name_fields_and_the_org()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 201, "create-app.response.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var app = await host.Provider.CreateAppAsync("my-app-name", network: "my-optional-network");

        Assert.Equal("z4k69dxd8r31p5mx", app.Id);
        JsonShape.AssertSame(
            """{"app_name":"my-app-name","name":"my-app-name","org_slug":"personal","network":"my-optional-network"}""",
            Assert.Single(server.Requests).Body,
            "create app body");
    }
}
