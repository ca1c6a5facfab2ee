using Orchestrator.Grains.Runs;

namespace Orchestrator.Grains.Tests;

/// <summary>Waits of a run (sleeps, retry backoffs, signal timeouts), which end only when the fake clock says so.</summary>
[Collection(FakeTimeCluster.Name)]
public sealed class RunGrainTimeTests(FakeTimeClusterFixture fixture)
{
    private readonly RunDriver _runs = new(fixture);

    [Fact]
    public async Task ASleepWithinTheTimerLimitEndsOnlyOnceTheFakeClockPassesIt()
    {
        var run = await _runs.StartAsync("""
            name: nap
            steps:
              - id: nap
                uses: sleep
                with: { duration: 90s }
            """);
        var waiting = await RunDriver.UntilStepAsync(run, "nap", StepStatuses.Waiting);
        var wakeAt = waiting.Steps[0].StartedAt!.Value + TimeSpan.FromSeconds(90);

        Assert.Null(await _runs.WakeReminderAsync(run));
        fixture.Clock.Advance(TimeSpan.FromSeconds(89));
        Assert.Equal(StepStatuses.Waiting, (await run.GetAsync())!.Steps[0].Status);
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        var done = await RunDriver.UntilEndedAsync(run);

        Assert.Equal(RunStatuses.Succeeded, done.Status);
        Assert.True(done.Steps[0].EndedAt >= wakeAt, $"the sleep ended at {done.Steps[0].EndedAt:O}, before {wakeAt:O}");
    }

    [Fact]
    public async Task AThreeHourSleepWaitsOnAReminderAndEndsOnlyAfterItsWakeTime()
    {
        var run = await _runs.StartAsync("""
            name: long-nap
            steps:
              - id: nap
                uses: sleep
                with: { duration: 3h }
              - id: after
                uses: sleep
                with: { duration: 1s }
            """);
        var waiting = await RunDriver.UntilStepAsync(run, "nap", StepStatuses.Waiting);
        var wakeAt = waiting.Steps[0].StartedAt!.Value + TimeSpan.FromHours(3);
        // Past the timer limit (2 min) the wait is a reminder: it survives the silo and wakes the run at its time.
        var reminder = await Eventually.UntilAsync(() => _runs.WakeReminderAsync(run), r => r is not null, "the run's wake reminder");
        Assert.Equal(wakeAt.UtcDateTime, reminder!.StartAt);

        fixture.Clock.Advance(TimeSpan.FromHours(3) - TimeSpan.FromMinutes(1));
        Assert.Equal(StepStatuses.Waiting, (await run.GetAsync())!.Steps[0].Status);
        fixture.Clock.Advance(TimeSpan.FromMinutes(1));
        var woken = await RunDriver.UntilStepAsync(run, "after", StepStatuses.Waiting);
        fixture.Clock.Advance(TimeSpan.FromSeconds(1));
        var done = await RunDriver.UntilEndedAsync(run);

        Assert.Equal(RunStatuses.Succeeded, done.Status);
        Assert.True(woken.Steps[0].EndedAt >= wakeAt, $"the sleep ended at {woken.Steps[0].EndedAt:O}, before {wakeAt:O}");
        Assert.Null(await _runs.WakeReminderAsync(run));
    }
}
