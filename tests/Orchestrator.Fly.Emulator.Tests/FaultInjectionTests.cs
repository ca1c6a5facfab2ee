using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>Faults per operation: error status and rate, latency, the ambiguous 408 create, seeding, and the admin endpoint.</summary>
public sealed class FaultInjectionTests
{
    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(429)]
    public async Task AFailingOperationAnswersTheStatusAndDoesNothing(int status)
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");
        emulator.Emulator.FaultInjection.Add(FaultRule.Failing("Machines_start", status));

        var failed = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/start");

        Assert.Equal(status, (int)failed.Status);
        Assert.Equal(["error"], failed.Object.Select(p => p.Key));
        Assert.Equal(status == 429, failed.Headers.Contains("Retry-After"));
        Assert.Equal("created", await emulator.Fly.StateAsync(app, id));
        Assert.Empty(emulator.Runtime.OperationsFor(id));
    }

    [Fact]
    public async Task TheAmbiguousCreateAnswers408ButMakesTheMachine()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        emulator.Emulator.FaultInjection.Add(FaultRule.SucceedThenTimeout() with { Times = 1 });
        var body = FlyHttp.MachineBody();
        body["config"]!["metadata"] = new JsonObject { ["client_token"] = "create-1" };

        var timedOut = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines", body);
        var found = await emulator.Fly.GetAsync($"/v1/apps/{app}/machines?metadata.client_token=create-1");

        Assert.Equal(HttpStatusCode.RequestTimeout, timedOut.Status);
        Assert.Equal(["error"], timedOut.Object.Select(p => p.Key));
        Assert.True(timedOut.Headers.Contains("fly-request-id"));
        var machine = Assert.Single(found.Expect(HttpStatusCode.OK).Array)!;
        await emulator.Fly.WaitForAsync(app, machine.Str("id"), "started");
        Assert.Equal(["start"], emulator.Runtime.OperationsFor(machine.Str("id")));
        // Times = 1: the retry is answered normally.
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines", FlyHttp.MachineBody(skipLaunch: true))).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task LatencyIsAddedToMatchingCallsOnly()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var emulator = await TestEmulator.StartAsync(time: clock);
        var app = await emulator.Fly.CreateAppAsync();
        emulator.Emulator.FaultInjection.Add(FaultRule.Slow("Apps_*", TimeSpan.FromSeconds(1)));

        var slow = emulator.Fly.GetAsync($"/v1/apps/{app}");
        // The other call is answered while the emulator's clock stands still.
        (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines").WaitAsync(TimeSpan.FromSeconds(30))).Expect(HttpStatusCode.OK);

        // The matching call holds until its second has passed on the emulator's clock (moved in tenths).
        var moved = TimeSpan.Zero;
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!slow.IsCompleted)
        {
            Assert.False(bound.IsCancellationRequested, $"the slowed call did not end after {moved.TotalMilliseconds} ms of emulator time");
            clock.Advance(TimeSpan.FromMilliseconds(100));
            moved += TimeSpan.FromMilliseconds(100);
            await Task.WhenAny(slow, Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System));
        }

        (await slow).Expect(HttpStatusCode.OK);
        Assert.True(moved >= TimeSpan.FromSeconds(1), $"answered after {moved.TotalMilliseconds} ms of emulator time");
    }

    [Fact]
    public async Task ARateOfFailuresIsTheSameSequenceForTheSameSeed()
    {
        async Task<string> RunAsync(int seed)
        {
            await using var emulator = await TestEmulator.StartAsync(o => o.Seed = seed);
            var app = await emulator.Fly.CreateAppAsync();
            emulator.Emulator.FaultInjection.Add(FaultRule.Failing("Apps_show", 503, rate: 0.5));
            var outcomes = new List<char>();
            for (var i = 0; i < 40; i++)
            {
                outcomes.Add((await emulator.Fly.GetAsync($"/v1/apps/{app}")).Status == HttpStatusCode.OK ? '.' : 'x');
            }

            return new string([.. outcomes]);
        }

        var first = await RunAsync(42);
        var again = await RunAsync(42);
        var other = await RunAsync(43);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.InRange(first.Count(c => c == 'x'), 8, 32);
    }

    [Fact]
    public async Task FaultsAreSetAndClearedThroughTheAdminEndpoint()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var anonymous = new FlyHttp(TestEmulator.Client(emulator.Emulator, null));

        var added = await anonymous.PostAsync("/_emulator/faults", """{"target":"Volumes_create","status":503,"message":"out of capacity","error_status":"insufficient_capacity","times":2}""");
        var listed = await anonymous.GetAsync("/_emulator/faults");
        var failed = await emulator.Fly.PostAsync($"/v1/apps/{app}/volumes", new JsonObject { ["name"] = "data" });
        var afterFiring = await anonymous.GetAsync("/_emulator/faults");
        (await anonymous.DeleteAsync($"/_emulator/faults/{added.Object.Str("id")}")).Expect(HttpStatusCode.NoContent);
        var recovered = await emulator.Fly.PostAsync($"/v1/apps/{app}/volumes", new JsonObject { ["name"] = "data" });

        added.Expect(HttpStatusCode.Created);
        Assert.Equal("Volumes_create", Assert.Single(listed.Expect(HttpStatusCode.OK).Array)!.Str("target"));
        Assert.Equal(Fixtures.Object("error-503-insufficient-capacity.json").ToJsonString(), failed.Expect(HttpStatusCode.ServiceUnavailable).Object.ToJsonString());
        Assert.Equal(1, afterFiring.Array[0]!["fired"]!.GetValue<int>());
        recovered.Expect(HttpStatusCode.OK);
        (await anonymous.PostAsync("/_emulator/faults", """{"target":"Machines_create","status":408,"mode":"after_success"}""")).Expect(HttpStatusCode.Created);
        (await anonymous.DeleteAsync("/_emulator/faults")).Expect(HttpStatusCode.NoContent);
        Assert.Empty((await anonymous.GetAsync("/_emulator/faults")).Array);
        (await anonymous.PostAsync("/_emulator/faults", """{"target":"x","status":200}""")).Expect(HttpStatusCode.BadRequest);
        (await anonymous.PostAsync("/_emulator/faults", """{"target":"x","rate":2,"status":500}""")).Expect(HttpStatusCode.BadRequest);
        (await anonymous.PostAsync("/_emulator/faults", """{"target":"x","status":500,"mode":"sometimes"}""")).Expect(HttpStatusCode.BadRequest);
        anonymous.Http.Dispose();
    }

    [Fact]
    public void InvalidRulesAreRejectedInProcess()
    {
        var faults = new FaultInjection(seed: 1);

        Assert.Throws<ArgumentException>(() => faults.Add(new FaultRule { Target = "" }));
        Assert.Throws<ArgumentException>(() => faults.Add(new FaultRule { Rate = -0.1 }));
        Assert.Throws<ArgumentException>(() => faults.Add(new FaultRule { Mode = FaultMode.AfterSuccess }));
        Assert.Throws<ArgumentException>(() => faults.Add(new FaultRule { Times = 0, Status = 500 }));
        Assert.Empty(faults.Rules);
    }
}
