using Orchestrator.Testing;
using Orchestrator.Fly.Tests.Infrastructure;

namespace Orchestrator.Fly.Tests;

/// <summary>
/// The client keeps under Fly's published limits (1 req/s per action and machine with bursts of 3; Get Machine
/// 5 req/s with bursts of 10), measured on the server side with small bursts.
/// </summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task Action_on_one_machine_gets_a_burst_of_three_then_one_per_second()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 200, "start-machine.response.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress);
        var provider = host.Provider;

        // Five starts of machine A and three of machine B, all at once.
        await Task.WhenAll(
            Enumerable.Range(0, 5).Select(_ => provider.StartMachineAsync(FlyClientHost.AppName, "aaaaaaaaaaaaaa"))
                .Concat(Enumerable.Range(0, 3).Select(_ => provider.StartMachineAsync(FlyClientHost.AppName, "bbbbbbbbbbbbbb"))));

        var a = server.Requests.Where(r => r.Path.Contains("aaaaaaaaaaaaaa", StringComparison.Ordinal)).OrderBy(r => r.Timestamp).ToList();
        var b = server.Requests.Where(r => r.Path.Contains("bbbbbbbbbbbbbb", StringComparison.Ordinal)).OrderBy(r => r.Timestamp).ToList();
        Assert.Equal(5, a.Count);
        Assert.InRange(a[2].Since(a[0]), TimeSpan.Zero, TimeSpan.FromMilliseconds(600)); // the burst of 3
        // Lower bounds leave room for the first request reaching the server late on a loaded machine.
        Assert.InRange(a[3].Since(a[0]), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(3));
        Assert.InRange(a[4].Since(a[0]), TimeSpan.FromMilliseconds(1400), TimeSpan.FromSeconds(4));
        // Another machine has buckets of its own.
        Assert.Equal(3, b.Count);
        Assert.InRange(b[2].Since(b[0]), TimeSpan.Zero, TimeSpan.FromMilliseconds(600));
    }

    [Fact]
    public async Task Get_machine_gets_a_burst_of_ten_then_five_per_second()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 200, "get-machine.response.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress);
        var provider = host.Provider;

        await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => provider.GetMachineAsync(FlyClientHost.AppName, "73d8d46dbee589")));

        var gets = server.Requests.OrderBy(r => r.Timestamp).ToList();
        Assert.Equal(12, gets.Count);
        // At 5/s without a burst the tenth would come 1.8 s after the first.
        Assert.InRange(gets[9].Since(gets[0]), TimeSpan.Zero, TimeSpan.FromMilliseconds(900));
        Assert.InRange(gets[10].Since(gets[0]), TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(2));
        Assert.InRange(gets[11].Since(gets[0]), TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(2));
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
}
