using Orchestrator.Grains.Sessions;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.Grains.Tests;

/// <summary>The session grain's own logic on the fake clock: idle timeouts, exits and the instance's list.</summary>
[Collection(FakeTimeCluster.Name)]
public sealed class TerminalSessionGrainTests(FakeTimeClusterFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task ASessionIdleLongerThanTheTenantAllowsIsEndedAndTheListSaysSo()
    {
        var tenant = await NewTenantAsync(new TenantQuotas(SessionIdleTimeout: Timeout));
        var (grain, sid) = Session(tenant);
        await grain.CreateAsync(new TerminalSessionSpec(Name: "idle"));

        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        await grain.SendInputAsync(new TerminalInput(Text: "ls"));
        fixture.Clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(TerminalSessionStatus.Running, (await grain.CheckIdleAsync())!.Status);

        // Somebody attached: watching is not idle, however long.
        var tmux = fixture.Terminals.Find(tenant, "box", sid)!;
        tmux.Attached = 1;
        fixture.Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(TerminalSessionStatus.Running, (await grain.CheckIdleAsync())!.Status);

        tmux.Attached = 0;
        var ended = await grain.CheckIdleAsync();

        Assert.Equal(TerminalSessionStatus.Ended, ended!.Status);
        Assert.Equal(TerminalSessionEndReasons.Idle, ended.EndedReason);
        Assert.Null(fixture.Terminals.Find(tenant, "box", sid));
        Assert.Contains(sid, await fixture.Client.GetGrain<ITerminalSessionListGrain>($"{tenant}/box").ListAsync());
        Assert.Equal(TerminalSessionEndReasons.Idle, (await grain.GetAsync()).EndedReason);
        await Assert.ThrowsAsync<TerminalSessionEndedException>(() => grain.SendInputAsync(new TerminalInput(Text: "ls")));
    }

    [Fact]
    public async Task OutputCountsAsActivityAndWithoutATimeoutNothingIsEnded()
    {
        var tenant = await NewTenantAsync(new TenantQuotas(SessionIdleTimeout: Timeout));
        var (grain, sid) = Session(tenant);
        await grain.CreateAsync(new TerminalSessionSpec(Command: "top"));
        fixture.Clock.Advance(TimeSpan.FromMinutes(9));
        fixture.Terminals.Find(tenant, "box", sid)!.Activity = fixture.Clock.GetUtcNow();
        fixture.Clock.Advance(TimeSpan.FromMinutes(9));

        var info = await grain.CheckIdleAsync();

        Assert.Equal(TerminalSessionStatus.Running, info!.Status);
        Assert.Equal(fixture.Clock.GetUtcNow() - TimeSpan.FromMinutes(9), info.LastActivityAt);

        var untimed = await NewTenantAsync(null);
        var (forever, _) = Session(untimed);
        await forever.CreateAsync(new TerminalSessionSpec());
        fixture.Clock.Advance(TimeSpan.FromDays(60));
        Assert.Equal(TerminalSessionStatus.Running, (await forever.CheckIdleAsync())!.Status);
    }

    [Fact]
    public async Task AProgramThatExitedIsRecordedWithItsCodeAndTakesNoInput()
    {
        var tenant = await NewTenantAsync(null);
        var (grain, sid) = Session(tenant);
        await grain.CreateAsync(new TerminalSessionSpec(Command: "make"));
        var tmux = fixture.Terminals.Find(tenant, "box", sid)!;
        (tmux.Dead, tmux.ExitCode) = (true, 2);

        var info = await grain.GetAsync();

        Assert.Equal((TerminalSessionStatus.Exited, 2), (info.Status, info.ExitCode));
        await Assert.ThrowsAsync<TerminalSessionEndedException>(() => grain.SendInputAsync(new TerminalInput(Keys: ["Enter"])));

        await grain.DeleteAsync();
        await Assert.ThrowsAsync<TerminalSessionNotFoundException>(() => grain.GetAsync());
        Assert.DoesNotContain(sid, await fixture.Client.GetGrain<ITerminalSessionListGrain>($"{tenant}/box").ListAsync());
    }

    [Fact]
    public async Task AProbeForAnExitWaitsForTheStatusOfAPaneThatJustDied()
    {
        var tenant = await NewTenantAsync(null);
        var (grain, sid) = Session(tenant);
        await grain.CreateAsync(new TerminalSessionSpec(Command: "exit 7"));
        var tmux = fixture.Terminals.Find(tenant, "box", sid)!;
        (tmux.Dead, tmux.PendingExitCode) = (true, 7);

        // A plain read takes tmux's word as it is: dead, no status yet, so still running.
        Assert.Equal(TerminalSessionStatus.Running, (await grain.GetAsync()).Status);

        var info = await grain.ProbeExitAsync();

        Assert.Equal((TerminalSessionStatus.Exited, 7), (info.Status, info.ExitCode));
        Assert.Equal((TerminalSessionStatus.Exited, 7), ((await grain.GetAsync()).Status, (await grain.GetAsync()).ExitCode));
    }

    [Fact]
    public async Task ARedrawReachesTheMachineAndAnEndedSessionRefusesIt()
    {
        var tenant = await NewTenantAsync(null);
        var (grain, sid) = Session(tenant);
        await grain.CreateAsync(new TerminalSessionSpec());

        await grain.RedrawAsync();

        Assert.Equal(1, fixture.Terminals.Find(tenant, "box", sid)!.Redraws);
        await fixture.Terminals.KillAsync(tenant, "box", sid, CancellationToken.None);
        await Assert.ThrowsAsync<TerminalSessionEndedException>(() => grain.RedrawAsync());
    }

    [Fact]
    public async Task TheTenantRefusesAnIdleTimeoutOutOfRange()
    {
        var tenant = await NewTenantAsync(null);
        var grain = fixture.Client.GetGrain<ITenantGrain>(tenant);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => grain.SetQuotasAsync(new TenantQuotas(SessionIdleTimeout: TimeSpan.FromSeconds(30))));

        Assert.Contains("session_idle_timeout", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => grain.SetQuotasAsync(new TenantQuotas(SessionIdleTimeout: TimeSpan.FromDays(31))));
        Assert.Equal(Timeout, (await grain.SetQuotasAsync(new TenantQuotas(SessionIdleTimeout: Timeout))).Quotas.SessionIdleTimeout);
    }

    private (ITerminalSessionGrain Grain, string Id) Session(string tenant)
    {
        var sid = "s-" + Guid.NewGuid().ToString("N")[..12];
        return (fixture.Client.GetGrain<ITerminalSessionGrain>($"{tenant}/box/{sid}"), sid);
    }

    private async Task<string> NewTenantAsync(TenantQuotas? quotas)
    {
        var tenant = "idle-" + Guid.NewGuid().ToString("N")[..12];
        await fixture.Client.GetGrain<ITenantGrain>(tenant).CreateAsync("Idle test", quotas);
        return tenant;
    }
}
