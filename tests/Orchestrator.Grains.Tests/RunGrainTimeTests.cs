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
        var done = await _runs.DriveUntilEndedAsync(run);

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
        var woken = await _runs.DriveUntilStepAsync(run, "nap", StepStatuses.Succeeded);
        var done = await _runs.DriveUntilEndedAsync(run);

        Assert.Equal(RunStatuses.Succeeded, done.Status);
        Assert.True(woken.Steps[0].EndedAt >= wakeAt, $"the sleep ended at {woken.Steps[0].EndedAt:O}, before {wakeAt:O}");
        // The end removes it (just after the end is visible: reads interleave with the run's last writes).
        await Eventually.UntilAsync(() => _runs.WakeReminderAsync(run), r => r is null, "the wake reminder to be removed");
    }

    [Fact]
    public async Task AFailedAttemptIsRetriedOnlyOnceItsBackoffHasPassed()
    {
        // Attempt 1 meets a 503; the endpoint answers 200 from then on.
        using var endpoint = new LocalHttpEndpoint((_, n) => n == 1 ? 503 : 200);
        var run = await _runs.StartAsync($$"""
            name: flaky
            steps:
              - id: check
                uses: http.check
                with: { url: "{{endpoint.Url("flaky")}}", timeout: 1s, interval: 5s }
                retry: { max_attempts: 3, backoff: { initial: 30s, max: 1m, multiplier: 2 } }
            """);
        var backingOff = await RunDriver.UntilStepAsync(run, "check", StepStatuses.Waiting);
        Assert.Equal(1, backingOff.Steps[0].Attempts);
        Assert.Contains("status 503", backingOff.Steps[0].Error, StringComparison.Ordinal);

        fixture.Clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(1, (await run.GetAsync())!.Steps[0].Attempts);
        Assert.Equal(1, endpoint.Hits("flaky"));
        fixture.Clock.Advance(TimeSpan.FromSeconds(1));
        var done = await _runs.DriveUntilEndedAsync(run);

        Assert.Equal(RunStatuses.Succeeded, done.Status);
        Assert.Equal(2, done.Steps[0].Attempts);
        Assert.Equal(2, endpoint.Hits("flaky"));
        Assert.Equal("{\"status\":200,\"body\":\"flaky #2\"}", done.Steps[0].OutputsJson);
        Assert.True(done.Steps[0].StartedAt >= backingOff.Steps[0].StartedAt + TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AStepThatKeepsFailingEndsTheRunAfterItsLastAttempt()
    {
        using var endpoint = new LocalHttpEndpoint((_, _) => 500);
        var run = await _runs.StartAsync($$"""
            name: broken
            steps:
              - id: check
                uses: http.check
                with: { url: "{{endpoint.Url("broken")}}", timeout: 1s, interval: 5s }
                retry: { max_attempts: 3, backoff: { initial: 10s, max: 1m, multiplier: 3 } }
            """);

        var first = await RunDriver.UntilAsync(run, v => v.Steps[0] is { Status: StepStatuses.Waiting, Attempts: 1 }, "the first backoff");
        fixture.Clock.Advance(TimeSpan.FromSeconds(10));
        var second = await Eventually.DriveAsync(fixture.Clock, TimeSpan.FromSeconds(1), async () => (await run.GetAsync())!, v => v.Steps[0] is { Status: StepStatuses.Waiting, Attempts: 2 }, "the second backoff");
        var done = await _runs.DriveUntilEndedAsync(run);

        Assert.Equal(RunStatuses.Failed, done.Status);
        Assert.Equal(3, done.Steps[0].Attempts);
        Assert.Equal(3, endpoint.Hits("broken"));
        // Backoffs of 10 s, then 30 s (multiplier 3), counted from the end of the attempt before.
        Assert.True(second.Steps[0].StartedAt >= first.UpdatedAt + TimeSpan.FromSeconds(10));
        Assert.True(done.Steps[0].StartedAt >= second.UpdatedAt + TimeSpan.FromSeconds(30));
        Assert.StartsWith("step 'check' failed: ", done.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancellingARunDuringABackoffRunsItsFinallyStepsAndEndsCancelled()
    {
        using var endpoint = new LocalHttpEndpoint((path, _) => path == "cleanup" ? 200 : 503);
        var run = await _runs.StartAsync($$"""
            name: cancel-backoff
            steps:
              - id: check
                uses: http.check
                with: { url: "{{endpoint.Url("down")}}", timeout: 1s, interval: 5s }
                retry: { max_attempts: 5, backoff: { initial: 1h, max: 2h, multiplier: 2 } }
              - id: never
                uses: sleep
                with: { duration: 1s }
            finally:
              - id: cleanup
                uses: http.check
                if: cancelled()
                with: { url: "{{endpoint.Url("cleanup")}}" }
            """);
        await RunDriver.UntilStepAsync(run, "check", StepStatuses.Waiting);
        // An hour's backoff waits on the reminder.
        await Eventually.UntilAsync(() => _runs.WakeReminderAsync(run), r => r is not null, "the backoff's wake reminder");

        await run.CancelAsync();
        var done = await RunDriver.UntilEndedAsync(run);

        var steps = done.Steps.ToDictionary(s => s.Id);
        Assert.Equal(RunStatuses.Cancelled, done.Status);
        Assert.Equal(StepStatuses.Cancelled, steps["check"].Status);
        Assert.Equal(1, steps["check"].Attempts);
        Assert.Equal(StepStatuses.Cancelled, steps["never"].Status);
        Assert.Equal(StepStatuses.Succeeded, steps["cleanup"].Status);
        Assert.Equal(1, endpoint.Hits("down"));
        Assert.Equal(1, endpoint.Hits("cleanup"));
        Assert.Equal(FakeClockNow, done.EndedAt);
        // The end removes it (just after the end is visible: reads interleave with the run's last writes).
        await Eventually.UntilAsync(() => _runs.WakeReminderAsync(run), r => r is null, "the wake reminder to be removed");
    }

    [Fact]
    public async Task ASignalEndsItsWaitAndAWaitWithoutOneTimesOutInFakeTime()
    {
        var run = await _runs.StartAsync("""
            name: approval
            steps:
              - id: approve
                uses: wait_for_signal
                with: { name: approve, timeout: 1h }
              - id: late
                uses: wait_for_signal
                with: { name: never, timeout: 10m }
                continue_on_error: true
            outputs:
              approver: ${{ steps.approve.outputs.payload.by }}
            """);
        await RunDriver.UntilStepAsync(run, "approve", StepStatuses.Waiting);

        await run.SignalAsync("approve", """{"by":"ops"}""");
        var late = await RunDriver.UntilStepAsync(run, "late", StepStatuses.Waiting);
        var timesOutAt = late.Steps[1].StartedAt!.Value + TimeSpan.FromMinutes(10);
        await Eventually.UntilAsync(() => _runs.WakeReminderAsync(run), r => r is not null, "the signal timeout's wake reminder");
        fixture.Clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(StepStatuses.Waiting, (await run.GetAsync())!.Steps[1].Status);
        fixture.Clock.Advance(TimeSpan.FromMinutes(1));
        var done = await _runs.DriveUntilEndedAsync(run);

        var steps = done.Steps.ToDictionary(s => s.Id);
        Assert.Equal(RunStatuses.Succeeded, done.Status);
        Assert.Equal("""{"payload":{"by":"ops"}}""", steps["approve"].OutputsJson);
        Assert.Equal(StepStatuses.Failed, steps["late"].Status);
        Assert.Contains("no signal 'never' arrived", steps["late"].Error, StringComparison.Ordinal);
        Assert.True(steps["late"].EndedAt >= timesOutAt);
        Assert.Equal("""{"approver":"ops"}""", done.OutputsJson);
    }

    private DateTimeOffset FakeClockNow => fixture.Clock.GetUtcNow();
}
