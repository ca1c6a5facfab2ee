using Orchestrator.Testing;
using System.Globalization;
using Orchestrator.Fly.Tests.Infrastructure;

namespace Orchestrator.Fly.Tests;

/// <summary>
/// Waits longer than Fly's 60 s cap are loops of capped waits. The server plays the passing of time: each 408
/// moves a manual clock by the timeout it was asked to hold, so minutes of waiting take milliseconds.
/// </summary>
public sealed class WaitTests
{
    private const string MachineId = "1857156b526dd8";
    private const string InstanceId = "01HEPA330HZ37A78TK080NAK1M";

    [Fact]
    public async Task Wait_longer_than_the_cap_is_a_loop_of_capped_waits()
    {
        var clock = new ManualClock();
        await using var server = await FlyTestServer.StartAsync(WaitServer(clock, answerOnCall: 3));
        await using var host = FlyClientHost.Create(server.BaseAddress, timeProvider: clock);

        var result = await host.Provider.WaitForStateAsync(FlyClientHost.AppName, MachineId, FlyMachineStates.Started, TimeSpan.FromSeconds(150));

        Assert.True(result.Ok);
        var waits = server.RequestsTo("GET", "/wait");
        Assert.Equal(["60", "60", "30"], waits.Select(w => w.QueryValue("timeout")));
        Assert.All(waits, w => Assert.Equal("started", w.QueryValue("state")));
    }

    [Fact]
    public async Task Wait_that_never_gets_there_fails_with_timeout_at_the_deadline()
    {
        var clock = new ManualClock();
        await using var server = await FlyTestServer.StartAsync(WaitServer(clock, answerOnCall: int.MaxValue));
        await using var host = FlyClientHost.Create(server.BaseAddress, timeProvider: clock);

        var ex = await Assert.ThrowsAsync<FlyApiException>(() =>
            host.Provider.WaitForStateAsync(FlyClientHost.AppName, MachineId, FlyMachineStates.Started, TimeSpan.FromSeconds(150)));

        Assert.Equal(FlyErrorCategory.Timeout, ex.Category);
        Assert.Equal(408, ex.StatusCode);
        Assert.Equal(3, server.RequestsTo("GET", "/wait").Count);
    }

    [Fact]
    public async Task Per_wait_cap_is_configurable()
    {
        var clock = new ManualClock();
        await using var server = await FlyTestServer.StartAsync(WaitServer(clock, answerOnCall: 3));
        await using var host = FlyClientHost.Create(server.BaseAddress, s => s["Fly:MaxWaitPerRequest"] = "00:00:05", clock);

        await host.Provider.WaitForStateAsync(FlyClientHost.AppName, MachineId, FlyMachineStates.Started, TimeSpan.FromSeconds(12));

        Assert.Equal(["5", "5", "2"], server.RequestsTo("GET", "/wait").Select(w => w.QueryValue("timeout")));
    }

    [Fact]
    public async Task Wait_for_stopped_without_instance_id_is_refused_before_any_call()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 400, "error-400-wait-instance-id-required.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() =>
            host.Provider.WaitForStateAsync(FlyClientHost.AppName, MachineId, FlyMachineStates.Stopped, TimeSpan.FromSeconds(30)));

        Assert.Equal("instanceId", ex.ParamName);
        Assert.Contains("instance_id", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Wait_for_stopped_sends_the_instance_id()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 200, "wait.response.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        await host.Provider.WaitForStateAsync(FlyClientHost.AppName, MachineId, FlyMachineStates.Stopped, TimeSpan.FromSeconds(20), InstanceId);

        var wait = Assert.Single(server.Requests);
        Assert.Equal($"/v1/apps/{FlyClientHost.AppName}/machines/{MachineId}/wait", wait.Path);
        Assert.Equal("stopped", wait.QueryValue("state"));
        Assert.Equal("20", wait.QueryValue("timeout"));
        Assert.Equal(InstanceId, wait.QueryValue("instance_id"));
    }

    [Fact]
    public async Task Wait_error_other_than_408_ends_the_loop()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 404, "error-404-machine-not-found.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var ex = await Assert.ThrowsAsync<FlyApiException>(() =>
            host.Provider.WaitForStateAsync(FlyClientHost.AppName, MachineId, FlyMachineStates.Destroyed, TimeSpan.FromMinutes(5)));

        Assert.Equal(FlyErrorCategory.NotFound, ex.Category);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Wait_call_may_hold_longer_than_the_attempt_timeout()
    {
        // Fly holds a wait for up to its timeout; the per-attempt timeout must not cut it short.
        await using var server = await FlyTestServer.StartAsync(async (context, _) =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(1500), context.RequestAborted);
            await FlyTestServer.RespondFixture(context, 200, "wait.response.json");
        });
        await using var host = FlyClientHost.Create(server.BaseAddress, s =>
        {
            s["Fly:AttemptTimeout"] = "00:00:00.500";
            s["Fly:TotalTimeout"] = "00:00:00.500";
        });

        var result = await host.Provider.WaitForStateAsync(FlyClientHost.AppName, MachineId, FlyMachineStates.Started, TimeSpan.FromSeconds(2));

        Assert.True(result.Ok);
        Assert.Single(server.Requests);
    }

    /// <summary>Answers 408 (after "holding" for the requested timeout) until call <paramref name="answerOnCall"/>.</summary>
    private static Func<HttpContext, RecordedRequest, Task> WaitServer(ManualClock clock, int answerOnCall)
    {
        var calls = 0;
        return (context, request) =>
        {
            if (Interlocked.Increment(ref calls) >= answerOnCall)
            {
                return FlyTestServer.RespondFixture(context, 200, "wait.response.json");
            }

            clock.Advance(TimeSpan.FromSeconds(int.Parse(request.QueryValue("timeout")!, CultureInfo.InvariantCulture)));
            return FlyTestServer.RespondFixture(context, 408, "error-408-wait-timeout.json");
        };
    }
}
