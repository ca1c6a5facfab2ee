using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>Starts made to fail inside the machine: the API accepts the call, the machine ends <c>failed</c> with the reason.</summary>
public sealed class StartFaultTests
{
    [Fact]
    public async Task MatchingMachinesFailToStartWithTheReasonAsTheNewestEvent()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        emulator.Emulator.FaultInjection.AddStartFault(new StartFault("p-", "failed to pull image: manifest unknown") { ExitCode = 3, Times = 1 });

        var failing = (await emulator.Fly.CreateMachineAsync(app, Named("p-1"))).Str("id");
        var other = (await emulator.Fly.CreateMachineAsync(app, Named("q-1"))).Str("id");
        await emulator.Fly.WaitForAsync(app, failing, "failed");
        await emulator.Fly.WaitForAsync(app, other, "started");

        var machine = await emulator.Fly.GetMachineAsync(app, failing);
        var listed = (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{failing}/events")).Expect(HttpStatusCode.OK).Array;
        foreach (var newest in new[] { machine["events"]![0]!, listed[0]! })
        {
            Assert.Equal(("exit", "failed", "flyd"), (newest.Str("type"), newest.Str("status"), newest.Str("source")));
            Assert.Equal("failed to pull image: manifest unknown", newest["request"]!.Str("error"));
            Assert.Equal(3, newest["request"]!["exit_event"]!["exit_code"]!.GetValue<int>());
        }

        Assert.Equal(["exit", "launch"], listed.Select(e => e.Str("type")));
        Assert.Empty(emulator.Runtime.CallsFor(failing));
        // Fired once (Times = 1): the next start of the same machine succeeds.
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{failing}/start")).Expect(HttpStatusCode.OK);
        await emulator.Fly.WaitForAsync(app, failing, "started");
        Assert.Equal(1, Assert.Single(emulator.Emulator.FaultInjection.StartFaults).Fired);
    }

    [Fact]
    public async Task StartFaultsAreSetListedAndClearedOverTheAdminApi()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();

        var created = (await emulator.Fly.PostAsync("/_emulator/start-faults", new JsonObject
        {
            ["machine_name_prefix"] = "bad-",
            ["reason"] = "sshd not found",
            ["exit_code"] = 127,
        })).Expect(HttpStatusCode.Created).Object;
        var invalid = await emulator.Fly.PostAsync("/_emulator/start-faults", new JsonObject { ["machine_name_prefix"] = "x", ["reason"] = "" });
        var id = (await emulator.Fly.CreateMachineAsync(app, Named("bad-machine"))).Str("id");
        await emulator.Fly.WaitForAsync(app, id, "failed");
        var listed = (await emulator.Fly.GetAsync("/_emulator/start-faults")).Expect(HttpStatusCode.OK).Array;
        (await emulator.Fly.DeleteAsync("/_emulator/start-faults")).Expect(HttpStatusCode.NoContent);
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/start")).Expect(HttpStatusCode.OK);
        await emulator.Fly.WaitForAsync(app, id, "started");

        Assert.Equal("bad-", created.Str("machine_name_prefix"));
        Assert.StartsWith("invalid_argument:", invalid.Expect(HttpStatusCode.BadRequest).Error, StringComparison.Ordinal);
        Assert.Equal(1, Assert.Single(listed)!["fired"]!.GetValue<int>());
        Assert.Equal(127, (await emulator.Fly.GetMachineAsync(app, id))["events"]!.AsArray().First(e => e.Str("type") == "exit")!["request"]!["exit_event"]!["exit_code"]!.GetValue<int>());
        Assert.Empty(emulator.Emulator.FaultInjection.StartFaults);
    }

    private static JsonObject Named(string name)
    {
        var body = FlyHttp.MachineBody();
        body["name"] = name;
        return body;
    }
}
