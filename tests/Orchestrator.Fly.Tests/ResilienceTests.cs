using Microsoft.Extensions.Time.Testing;
using Orchestrator.Testing;
using System.Threading.Channels;
using Orchestrator.Fly.Tests.Infrastructure;

namespace Orchestrator.Fly.Tests;

/// <summary>Safe calls are retried on transient failures; unsafe ones are never replayed by the pipeline.</summary>
public sealed class ResilienceTests
{
    [Theory]
    [InlineData(503)]
    [InlineData(502)]
    [InlineData(429)]
    [InlineData(408)]
    public async Task Get_is_retried_on_transient_statuses(int status)
    {
        var calls = 0;
        await using var server = await FlyTestServer.StartAsync((context, _) => Interlocked.Increment(ref calls) <= 2
            ? FlyTestServer.Respond(context, status, """{"error":"try again"}""")
            : FlyTestServer.RespondFixture(context, 200, "get-machine.response.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var machine = await host.Provider.GetMachineAsync(FlyClientHost.AppName, "73d8d46dbee589");

        Assert.Equal("73d8d46dbee589", machine.Id);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task Get_retry_waits_as_long_as_retry_after_says()
    {
        var calls = 0;
        await using var server = await FlyTestServer.StartAsync((context, _) => Interlocked.Increment(ref calls) == 1
            ? FlyTestServer.Respond(context, 429, """{"error":"rate limited"}""", ("Retry-After", "1"))
            : FlyTestServer.RespondFixture(context, 200, "list-volumes.response.json"));
        // The configured backoff is 10 ms (at most 100 ms): only Retry-After can explain a one-second delay.
        // The retry waits on this clock, which moves only when the test moves it.
        var time = new FakeTimeProvider();
        await using var host = FlyClientHost.Create(server.BaseAddress, timeProvider: time);

        var call = host.Provider.ListVolumesAsync(FlyClientHost.AppName);
        await Wait.UntilAsync(() => Task.FromResult(host.Logs.Messages.Any(m => m.StartsWith("Retrying Fly API GET", StringComparison.Ordinal))), "the retry after the 429");
        Assert.Single(server.Requests);
        await Wait.UntilAsync(
            () =>
            {
                time.Advance(TimeSpan.FromMilliseconds(250));
                return Task.FromResult(call.IsCompleted);
            },
            "the retried call to finish as the clock moves on");
        var volumes = await call;

        Assert.Equal(2, volumes.Count);
        Assert.Equal(2, server.Requests.Count);
        var retry = Assert.Single(host.Logs.Messages, m => m.StartsWith("Retrying Fly API GET", StringComparison.Ordinal));
        Assert.Contains(" in 00:00:01 after 429", retry, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_gives_up_after_the_configured_retries()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.Respond(context, 503, """{"error":"down"}"""));
        await using var host = FlyClientHost.Create(server.BaseAddress, s => s["Fly:MaxRetryAttempts"] = "2");

        var ex = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.GetVolumeAsync(FlyClientHost.AppName, "vol_9vw681egy1jj5xm4"));

        Assert.Equal(FlyErrorCategory.Server, ex.Category);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task Get_is_retried_after_a_slow_attempt_times_out()
    {
        var calls = 0;
        await using var server = await FlyTestServer.StartAsync(async (context, _) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            await FlyTestServer.RespondFixture(context, 200, "get-app.response.json");
        });
        await using var host = FlyClientHost.Create(server.BaseAddress, s => s["Fly:AttemptTimeout"] = "00:00:00.300");

        var app = await host.Provider.GetAppAsync("my-app-name");

        Assert.Equal("jlyv9r5d56v18xrg", app.Id);
        Assert.Equal(2, server.Requests.Count);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("DELETE")]
    [InlineData("PUT")]
    public async Task Unsafe_calls_are_not_replayed_on_503(string method)
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.Respond(context, 503, """{"error":"unavailable"}"""));
        await using var host = FlyClientHost.Create(server.BaseAddress);
        var provider = host.Provider;

        Func<Task> call = method switch
        {
            "POST" => () => provider.StartMachineAsync(FlyClientHost.AppName, "1857156b526dd8"),
            "DELETE" => () => provider.DeleteMachineAsync(FlyClientHost.AppName, "1857156b526dd8", force: true),
            _ => () => provider.ExtendVolumeAsync(FlyClientHost.AppName, "vol_9vw681egy1jj5xm4", 20),
        };

        var ex = await Assert.ThrowsAsync<FlyApiException>(call);

        Assert.Equal(503, ex.StatusCode);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Unsafe_call_is_not_replayed_after_its_attempt_times_out()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var abandoned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FlyTestServer.StartAsync(async (context, _) =>
        {
            arrived.TrySetResult();
            // Never answered: only the client giving up on the attempt ends this request.
            await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            abandoned.TrySetResult();
        });
        // The pipeline's timers run on this clock, so the attempt times out when the test says, after the
        // request reached the server, and a retry (whose backoff would wait on this clock) could never finish.
        var time = new FakeTimeProvider();
        // Two minutes (the longest allowed) that pass only on that clock: no real delay can time the attempt out.
        await using var host = FlyClientHost.Create(
            server.BaseAddress,
            s =>
            {
                s["Fly:AttemptTimeout"] = "00:02:00";
                s["Fly:TotalTimeout"] = "00:05:00";
            },
            time);

        var call = host.Provider.StopMachineAsync(FlyClientHost.AppName, "1857156b526dd8");
        await arrived.Task.WaitAsync(Wait.DefaultTimeout);
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(2));

        var ex = await Assert.ThrowsAsync<FlyApiException>(() => call.WaitAsync(Wait.DefaultTimeout));
        await abandoned.Task.WaitAsync(Wait.DefaultTimeout);

        Assert.Equal(FlyErrorCategory.Timeout, ex.Category);
        Assert.True(ex.OutcomeUnknown);
        Assert.Null(ex.StatusCode);
        var request = Assert.Single(server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.EndsWith("/machines/1857156b526dd8/stop", request.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Total_timeout_bounds_a_call_with_all_its_retries()
    {
        var arrivals = Channel.CreateUnbounded<RecordedRequest>();
        await using var server = await FlyTestServer.StartAsync(async (context, request) =>
        {
            arrivals.Writer.TryWrite(request);
            // Never answered: only the client giving up on the attempt ends this request.
            await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        });
        // Every timer of the pipeline (both timeouts and the backoff) runs on this clock, which only the test moves;
        // the timeouts are minutes long, so real time cannot end the call within the test's bound.
        var time = new FakeTimeProvider();
        var started = time.GetUtcNow();
        var attemptTimeout = TimeSpan.FromMinutes(2);
        var totalTimeout = TimeSpan.FromMinutes(3);
        await using var host = FlyClientHost.Create(
            server.BaseAddress,
            s =>
            {
                s["Fly:AttemptTimeout"] = "00:02:00";
                s["Fly:TotalTimeout"] = "00:03:00";
                s["Fly:MaxRetryAttempts"] = "10";
            },
            time);

        var call = host.Provider.GetMachineAsync(FlyClientHost.AppName, "1857156b526dd8");
        await arrivals.Reader.ReadAsync().AsTask().WaitAsync(Wait.DefaultTimeout);
        Assert.False(call.IsCompleted);

        // The first attempt times out and is retried after a backoff of at most 100 ms, moved through in 10 ms steps.
        time.Advance(attemptTimeout);
        var retried = arrivals.Reader.ReadAsync().AsTask();
        await Wait.UntilAsync(
            () =>
            {
                if (!retried.IsCompleted)
                {
                    time.Advance(TimeSpan.FromMilliseconds(10));
                }

                return Task.FromResult(retried.IsCompleted);
            },
            "the retry after the first attempt timed out");
        var elapsed = time.GetUtcNow() - started;
        Assert.True(elapsed < totalTimeout, $"the retry came {elapsed} into the call");

        // Still waiting on its second attempt, which would run until two minutes after it began, past the total.
        Assert.False(call.IsCompleted);
        time.Advance(totalTimeout - elapsed);

        var ex = await Assert.ThrowsAsync<FlyApiException>(() => call.WaitAsync(Wait.DefaultTimeout));
        Assert.Equal(FlyErrorCategory.Timeout, ex.Category);
        // Eight retries were left: the total timeout, not the retry count, ended the call.
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task Circuit_opens_after_repeated_server_failures()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.Respond(context, 500, """{"error":"boom"}"""));
        await using var host = FlyClientHost.Create(server.BaseAddress, s =>
        {
            s["Fly:MaxRetryAttempts"] = "0";
            s["Fly:CircuitBreakerMinimumThroughput"] = "3";
            s["Fly:CircuitBreakerBreakDuration"] = "00:01:00";
        });

        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.GetVolumeAsync(FlyClientHost.AppName, "vol_" + i));
        }

        var open = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.GetVolumeAsync(FlyClientHost.AppName, "vol_3"));

        Assert.Equal(3, server.Requests.Count);
        Assert.Equal(FlyErrorCategory.Server, open.Category);
        Assert.Null(open.StatusCode);
        // Nothing was sent, so a create refused like this needs no reconciling.
        Assert.False(open.OutcomeUnknown);
        Assert.Contains("circuit", open.Message, StringComparison.OrdinalIgnoreCase);
    }
}
