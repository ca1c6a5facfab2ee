using Orchestrator.Testing;
using Orchestrator.Fly.Tests.Infrastructure;

namespace Orchestrator.Fly.Tests;

/// <summary>A lease scope sends its nonce on every mutating call and always releases.</summary>
public sealed class LeaseTests
{
    private const string MachineId = "73d8d46dbee589";
    private const string Nonce = "5c35f65c9f95"; // from lease-create.response.json
    private const string NonceHeader = "fly-machine-lease-nonce";

    [Fact]
    public async Task Lease_is_acquired_with_the_documented_body()
    {
        await using var server = await FlyTestServer.StartAsync(LeaseServer());
        await using var host = FlyClientHost.Create(server.BaseAddress);

        await using (var lease = await host.Provider.AcquireLeaseAsync(FlyClientHost.AppName, MachineId, TimeSpan.FromSeconds(500)))
        {
            Assert.Equal(Nonce, lease.Nonce);
            Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1708569778), lease.ExpiresAt);
            Assert.Equal("hello@fly.io", lease.Owner);
        }

        var acquire = server.RequestsTo("POST", "/lease")[0];
        JsonShape.AssertSame(FlyFixtures.Read("lease-create.request.json"), acquire.Body, "lease-create.request.json");
        Assert.Null(acquire.Header(NonceHeader));
    }

    [Fact]
    public async Task Every_mutating_call_through_the_lease_carries_the_nonce()
    {
        await using var server = await FlyTestServer.StartAsync(LeaseServer());
        await using var host = FlyClientHost.Create(server.BaseAddress);
        var update = new UpdateMachineRequest { Config = new FlyMachineConfig { Image = "flyio/fastify-functions" } };

        await using (var lease = await host.Provider.AcquireLeaseAsync(FlyClientHost.AppName, MachineId, TimeSpan.FromSeconds(30)))
        {
            await lease.UpdateAsync(update);
            await lease.StartAsync();
            await lease.StopAsync(new StopMachineRequest { Signal = "SIGTERM", Timeout = FlyDurations.ToGo(TimeSpan.FromSeconds(30)) });
            await lease.RestartAsync(TimeSpan.FromSeconds(10), "SIGINT");
            await lease.SignalAsync("SIGUSR1");
            await lease.RefreshAsync(TimeSpan.FromSeconds(60));
            await lease.DeleteMachineAsync(force: true);
        }

        var mutations = server.Requests.Skip(1).ToList();
        Assert.Equal(
            ["POST machine", "POST start", "POST stop", "POST restart", "POST signal", "POST lease", "DELETE machine", "DELETE lease"],
            mutations.Select(Describe));
        Assert.All(mutations, r => Assert.Equal(Nonce, r.Header(NonceHeader)));
        JsonShape.AssertSame("""{"signal":"SIGTERM","timeout":"30s"}""", mutations[2].Body, "stop body");
        Assert.Equal("10s", mutations[3].QueryValue("timeout"));
        Assert.Equal("true", mutations[6].QueryValue("force"));
    }

    [Fact]
    public async Task Calls_outside_the_lease_carry_no_nonce()
    {
        await using var server = await FlyTestServer.StartAsync(LeaseServer());
        await using var host = FlyClientHost.Create(server.BaseAddress);

        await using (await host.Provider.AcquireLeaseAsync(FlyClientHost.AppName, MachineId, TimeSpan.FromSeconds(30)))
        {
            await host.Provider.StartMachineAsync(FlyClientHost.AppName, MachineId);
        }

        Assert.Null(Assert.Single(server.RequestsTo("POST", "/start")).Header(NonceHeader));
    }

    [Fact]
    public async Task Lease_is_released_when_the_body_throws()
    {
        await using var server = await FlyTestServer.StartAsync(LeaseServer());
        await using var host = FlyClientHost.Create(server.BaseAddress);

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var lease = await host.Provider.AcquireLeaseAsync(FlyClientHost.AppName, MachineId, TimeSpan.FromSeconds(30));
            await lease.StartAsync();
            throw new InvalidOperationException("the work failed");
        });

        var release = Assert.Single(server.RequestsTo("DELETE", "/lease"));
        Assert.Equal(Nonce, release.Header(NonceHeader));
    }

    [Fact]
    public async Task Lease_is_released_when_the_caller_was_cancelled()
    {
        await using var server = await FlyTestServer.StartAsync(LeaseServer());
        await using var host = FlyClientHost.Create(server.BaseAddress);
        using var cancellation = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await using var lease = await host.Provider.AcquireLeaseAsync(FlyClientHost.AppName, MachineId, TimeSpan.FromSeconds(30), cancellationToken: cancellation.Token);
            await cancellation.CancelAsync();
            await lease.StartAsync(cancellation.Token);
        });

        Assert.Single(server.RequestsTo("DELETE", "/lease"));
    }

    [Fact]
    public async Task Explicit_release_happens_once_and_closes_the_scope()
    {
        await using var server = await FlyTestServer.StartAsync(LeaseServer());
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var lease = await host.Provider.AcquireLeaseAsync(FlyClientHost.AppName, MachineId, TimeSpan.FromSeconds(30));
        await lease.ReleaseAsync();
        await lease.DisposeAsync();

        Assert.Single(server.RequestsTo("DELETE", "/lease"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => lease.StartAsync());
        Assert.Empty(server.RequestsTo("POST", "/start"));
    }

    [Fact]
    public async Task Failed_release_on_dispose_does_not_hide_the_scope_outcome()
    {
        await using var server = await FlyTestServer.StartAsync(LeaseServer(releaseStatus: 500));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        await using (await host.Provider.AcquireLeaseAsync(FlyClientHost.AppName, MachineId, TimeSpan.FromSeconds(30)))
        {
        }

        Assert.Single(server.RequestsTo("DELETE", "/lease"));
        Assert.Contains(host.Logs.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains("Could not release the lease", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lease_held_by_someone_else_is_a_conflict()
    {
        await using var server = await FlyTestServer.StartAsync((context, _) => FlyTestServer.RespondFixture(context, 409, "error-409-lease-conflict.json"));
        await using var host = FlyClientHost.Create(server.BaseAddress);

        var ex = await Assert.ThrowsAsync<FlyApiException>(() => host.Provider.AcquireLeaseAsync(FlyClientHost.AppName, MachineId, TimeSpan.FromSeconds(30)));

        Assert.Equal(FlyErrorCategory.Conflict, ex.Category);
        Assert.True(ex.IsLeaseConflict);
        Assert.Empty(server.RequestsTo("DELETE", "/lease"));
    }

    /// <summary>"POST start" for <c>POST /v1/apps/a/machines/{id}/start</c>, "POST machine" for the machine itself.</summary>
    private static string Describe(RecordedRequest request)
    {
        var suffix = request.Path[(request.Path.IndexOf(MachineId, StringComparison.Ordinal) + MachineId.Length)..].TrimStart('/');
        return $"{request.Method} {(suffix.Length == 0 ? "machine" : suffix)}";
    }

    private static Func<HttpContext, RecordedRequest, Task> LeaseServer(int releaseStatus = 200) => (context, request) => (request.Method, request.Path.Split('/')[^1]) switch
    {
        ("POST", "lease") => FlyTestServer.RespondFixture(context, 201, "lease-create.response.json"),
        ("DELETE", "lease") when releaseStatus == 200 => FlyTestServer.RespondFixture(context, 200, "lease-release.response.json"),
        ("DELETE", "lease") => FlyTestServer.Respond(context, releaseStatus, """{"error":"internal"}"""),
        ("POST", "start") => FlyTestServer.RespondFixture(context, 200, "start-machine.response.json"),
        ("POST", MachineId) => FlyTestServer.RespondFixture(context, 200, "update-machine.response.json"),
        _ => FlyTestServer.RespondFixture(context, 200, "ok.response.json"),
    };
}
