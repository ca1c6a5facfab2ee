using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Fly.Tests.Infrastructure;
using Orchestrator.Testing;

namespace Orchestrator.Fly.Tests;

/// <summary>
/// The client keeps under Fly's published limits (1 req/s per action and machine with bursts of 3; Get Machine
/// 5 req/s with bursts of 10), on a clock the tests move.
/// </summary>
public sealed class RateLimitTests
{
    private static readonly FlyRateLimitKey MachineA = new("POST apps/*/machines/*/start", "aaaaaaaaaaaaaa");
    private static readonly FlyRateLimitKey MachineB = new("POST apps/*/machines/*/start", "bbbbbbbbbbbbbb");
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Action_on_one_machine_gets_a_burst_of_three_then_one_per_second()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock);

        var a = Enumerable.Range(0, 5).Select(_ => limiter.AcquireAsync(MachineA, CancellationToken.None).AsTask()).ToList();
        var b = Enumerable.Range(0, 3).Select(_ => limiter.AcquireAsync(MachineB, CancellationToken.None).AsTask()).ToList();

        Assert.All(a.Take(3), AssertAdmitted);
        Assert.All(b, AssertAdmitted); // another machine has buckets of its own
        Assert.False(a[3].IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(a[3].IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        AssertAdmitted(await a[3].WaitAsync(Bound));
        Assert.False(a[4].IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        AssertAdmitted(await a[4].WaitAsync(Bound));
    }

    [Fact]
    public async Task Get_machine_gets_a_burst_of_ten_then_five_per_second()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock);
        var key = new FlyRateLimitKey(FlyRateLimits.GetMachineAction, "m1");

        var gets = Enumerable.Range(0, 12).Select(_ => limiter.AcquireAsync(key, CancellationToken.None).AsTask()).ToList();

        Assert.All(gets.Take(10), AssertAdmitted);
        clock.Advance(TimeSpan.FromMilliseconds(199));
        Assert.False(gets[10].IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        AssertAdmitted(await gets[10].WaitAsync(Bound));
        Assert.False(gets[11].IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(200));
        AssertAdmitted(await gets[11].WaitAsync(Bound));
    }

    [Fact]
    public async Task A_bucket_queues_at_most_sixty_four_callers_and_refuses_the_next_with_when_to_come_back()
    {
        var limiter = Limiter(new FakeTimeProvider());

        var admitted = Enumerable.Range(0, 3 + FlyRateLimiter.QueueLimit).Select(_ => limiter.AcquireAsync(MachineA, CancellationToken.None).AsTask()).ToList();
        using var refused = await limiter.AcquireAsync(MachineA, CancellationToken.None);

        Assert.Equal(3, admitted.Count(t => t.IsCompleted));
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(FlyRateLimiter.QueueLimit + 1), retryAfter);
    }

    [Fact]
    public async Task A_cancelled_wait_ends_at_once_and_its_token_stays_spent()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock);
        using var cancel = new CancellationTokenSource();
        for (var i = 0; i < 3; i++)
        {
            AssertAdmitted(await limiter.AcquireAsync(MachineA, CancellationToken.None));
        }

        var waiting = limiter.AcquireAsync(MachineA, cancel.Token).AsTask();
        var next = limiter.AcquireAsync(MachineA, CancellationToken.None).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Bound));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(next.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        AssertAdmitted(await next.WaitAsync(Bound));
    }

    [Fact]
    public async Task Buckets_that_have_refilled_are_dropped_once_there_are_many()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock);
        for (var i = 0; i < 1024; i++)
        {
            AssertAdmitted(await limiter.AcquireAsync(new FlyRateLimitKey(MachineA.Action, $"m{i}"), CancellationToken.None));
        }

        Assert.Equal(1024, limiter.BucketCount);
        clock.Advance(TimeSpan.FromSeconds(1));
        AssertAdmitted(await limiter.AcquireAsync(new FlyRateLimitKey(MachineA.Action, "one-more"), CancellationToken.None));

        Assert.Equal(1, limiter.BucketCount);
    }

    [Fact]
    public async Task The_client_waits_on_its_limiter_before_a_request_leaves_the_process()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 200, "get-machine.response.json"));
        var clock = new FakeTimeProvider();
        await using var host = FlyClientHost.Create(server.BaseAddress, timeProvider: clock);
        var limiter = (FlyRateLimiter)host.Services.GetRequiredService<IFlyRateLimiter>();

        var gets = Task.WhenAll(Enumerable.Range(0, 12).Select(_ => host.Provider.GetMachineAsync(FlyClientHost.AppName, "73d8d46dbee589")));
        // Every call has its place in the bucket: ten went, and two wait for a clock that does not move by itself.
        await Wait.UntilAsync(() => Task.FromResult(limiter.Reservations == 12 && server.Requests.Count == 10), "ten requests on the wire and two held");
        clock.Advance(TimeSpan.FromMilliseconds(200));
        await Wait.UntilAsync(() => Task.FromResult(server.Requests.Count == 11), "the eleventh request after one interval");
        Assert.False(gets.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(200));
        await gets.WaitAsync(Bound);
        Assert.Equal(12, server.Requests.Count);
    }

    [Theory]
    [InlineData("GET", "/v1/apps/my-app/machines/m1", "GET apps/*/machines/*", "m1")]
    [InlineData("POST", "/v1/apps/my-app/machines/m1/start", "POST apps/*/machines/*/start", "m1")]
    [InlineData("POST", "/v1/apps/my-app/machines/m1/metadata/k", "POST apps/*/machines/*/metadata/*", "m1")]
    [InlineData("POST", "/v1/apps/my-app/machines", "POST apps/*/machines", "my-app")]
    [InlineData("GET", "/v1/apps/my-app/machines/m1/wait?state=started", "GET apps/*/machines/*/wait", "m1")]
    [InlineData("PUT", "/v1/apps/my-app/volumes/vol_1/extend", "PUT apps/*/volumes/*/extend", "my-app")]
    [InlineData("DELETE", "/v1/apps/my-app", "DELETE apps/*", "my-app")]
    [InlineData("GET", "/v1/apps?org_slug=personal", "GET apps", "*")]
    [InlineData("GET", "/emulator/v1/apps/my-app/machines/m1", "GET apps/*/machines/*", "m1")]
    public void Requests_are_keyed_by_action_and_scope(string method, string path, string action, string scope)
    {
        var key = FlyRateLimitKey.ForRequest(new HttpMethod(method), new Uri(new Uri("https://api.machines.dev"), path));

        Assert.Equal(new FlyRateLimitKey(action, scope), key);
    }

    [Fact]
    public void Rules_follow_the_published_numbers()
    {
        Assert.Equal(new FlyRateLimitRule(3, TimeSpan.FromSeconds(1)), FlyRateLimits.For(new FlyRateLimitKey("POST apps/*/machines/*/start", "m1")));
        Assert.Equal(new FlyRateLimitRule(10, TimeSpan.FromMilliseconds(200)), FlyRateLimits.For(new FlyRateLimitKey("GET apps/*/machines/*", "m1")));
        // 100 app deletions per minute, for the whole organisation.
        var deletion = new FlyRateLimitKey("DELETE apps/*", "some-app");
        Assert.Equal(TimeSpan.FromMinutes(1), FlyRateLimits.For(deletion).Interval * 100);
        Assert.Equal("*", FlyRateLimits.Partition(deletion).Scope);
    }

    [Fact]
    public void A_scale_refills_faster_and_keeps_the_burst()
    {
        var scaled = FlyRateLimits.PerAction.Scaled(20);

        Assert.Equal(new FlyRateLimitRule(3, TimeSpan.FromMilliseconds(50)), scaled);
        Assert.Same(FlyRateLimits.PerAction, FlyRateLimits.PerAction.Scaled(1));
    }

    private static FlyRateLimiter Limiter(TimeProvider clock) => new(Options.Create(new FlyOptions()), clock);

    private static void AssertAdmitted(Task<RateLimitLease> lease)
    {
        Assert.True(lease.IsCompletedSuccessfully, "the call should have been admitted at once");
        AssertAdmitted(lease.Result);
    }

    private static void AssertAdmitted(RateLimitLease lease) => Assert.True(lease.IsAcquired);
}
