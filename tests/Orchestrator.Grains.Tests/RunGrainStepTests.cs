using Orchestrator.Grains.Runs;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.Grains.Tests;

/// <summary>How a run walks its definition: branches, conditions, failures it may continue past, child runs.</summary>
[Collection(FakeTimeCluster.Name)]
public sealed class RunGrainStepTests(FakeTimeClusterFixture fixture)
{
    private readonly RunDriver _runs = new(fixture);

    [Fact]
    public async Task ParallelBranchesRunTogetherAndTheNextStepWaitsForBoth()
    {
        using var endpoint = new LocalHttpEndpoint((_, _) => 200);
        var run = await _runs.StartAsync($$"""
            name: fan
            steps:
              - id: both
                uses: parallel
                branches:
                  - - id: left
                      uses: sleep
                      with: { duration: 30s }
                  - - id: right
                      uses: http.check
                      with: { url: "{{endpoint.Url("right")}}" }
              - id: join
                uses: sleep
                with: { duration: 1s }
            """);

        // The right branch ends while the left one sleeps: neither waits for the other.
        var midway = await RunDriver.UntilAsync(
            run,
            v => v.Steps.Single(s => s.Id == "right").Status == StepStatuses.Succeeded && v.Steps.Single(s => s.Id == "left").Status == StepStatuses.Waiting,
            "the right branch to end while the left one sleeps");
        Assert.Equal(StepStatuses.Pending, midway.Steps.Single(s => s.Id == "join").Status);
        fixture.Clock.Advance(TimeSpan.FromSeconds(30));
        var done = await _runs.DriveUntilEndedAsync(run);

        var steps = done.Steps.ToDictionary(s => s.Id);
        Assert.Equal(RunStatuses.Succeeded, done.Status);
        Assert.All(steps.Values, s => Assert.Equal(StepStatuses.Succeeded, s.Status));
        Assert.True(steps["join"].StartedAt >= steps["left"].EndedAt);
        Assert.True(steps["right"].EndedAt < steps["left"].EndedAt);
        Assert.Equal(1, endpoint.Hits("right"));
    }

    [Fact]
    public async Task AFalseConditionSkipsAStepAndAFailureMarkedContinueOnErrorDoesNotFailTheRun()
    {
        using var endpoint = new LocalHttpEndpoint((path, _) => path == "down" ? 500 : 200);
        var run = await _runs.StartAsync($$$"""
            name: branches
            inputs:
              skip_me: { type: boolean, default: true }
            steps:
              - id: optional
                uses: http.check
                with: { url: "{{{endpoint.Url("down")}}}", timeout: 1s, interval: 5s }
                continue_on_error: true
              - id: skipped
                uses: http.check
                with: { url: "{{{endpoint.Url("skipped")}}}" }
                if: ${{ !inputs.skip_me }}
              - id: ran
                uses: http.check
                with: { url: "{{{endpoint.Url("ran")}}}" }
                if: ${{ inputs.skip_me }}
            finally:
              - id: on_failure
                uses: http.check
                if: failure()
                with: { url: "{{{endpoint.Url("on-failure")}}}" }
              - id: always
                uses: http.check
                if: always()
                with: { url: "{{{endpoint.Url("always")}}}" }
            """);

        var done = await RunDriver.UntilEndedAsync(run);

        var steps = done.Steps.ToDictionary(s => s.Id);
        Assert.Equal(RunStatuses.Succeeded, done.Status);
        Assert.Equal(StepStatuses.Failed, steps["optional"].Status);
        Assert.Contains("status 500", steps["optional"].Error, StringComparison.Ordinal);
        Assert.Equal(StepStatuses.Skipped, steps["skipped"].Status);
        Assert.Equal(StepStatuses.Succeeded, steps["ran"].Status);
        Assert.Equal(StepStatuses.Skipped, steps["on_failure"].Status);
        Assert.Equal(StepStatuses.Succeeded, steps["always"].Status);
        Assert.Equal(0, endpoint.Hits("skipped"));
        Assert.Equal(0, endpoint.Hits("on-failure"));
    }

    [Fact]
    public async Task AFailureWithoutContinueOnErrorSkipsTheRestAndFailsTheRun()
    {
        using var endpoint = new LocalHttpEndpoint((path, _) => path == "down" ? 500 : 200);
        var run = await _runs.StartAsync($$"""
            name: fails
            steps:
              - id: broken
                uses: http.check
                with: { url: "{{endpoint.Url("down")}}", timeout: 1s, interval: 5s }
              - id: never
                uses: http.check
                with: { url: "{{endpoint.Url("never")}}" }
            finally:
              - id: on_failure
                uses: http.check
                if: failure()
                with: { url: "{{endpoint.Url("on-failure")}}" }
            """);

        var done = await RunDriver.UntilEndedAsync(run);

        var steps = done.Steps.ToDictionary(s => s.Id);
        Assert.Equal(RunStatuses.Failed, done.Status);
        Assert.Equal(StepStatuses.Skipped, steps["never"].Status);
        Assert.Equal(StepStatuses.Succeeded, steps["on_failure"].Status);
        Assert.StartsWith("step 'broken' failed: ", done.Error, StringComparison.Ordinal);
        Assert.Equal(0, endpoint.Hits("never"));
    }

    [Fact]
    public async Task HttpCheckPollsARealEndpointUntilItAnswersTheExpectedStatus()
    {
        // Not ready twice, then ready: the step asks again every interval of fake time.
        using var endpoint = new LocalHttpEndpoint((_, n) => n <= 2 ? 503 : 202);
        var run = await _runs.StartAsync($$"""
            name: ready
            steps:
              - id: ready
                uses: http.check
                with: { url: "{{endpoint.Url("ready")}}", expect_status: [200, 202], interval: 10s, timeout: 1m }
            """);

        await Eventually.UntilAsync(() => Task.FromResult(endpoint.Hits("ready")), n => n == 1, "the first check");
        fixture.Clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(1, endpoint.Hits("ready"));
        fixture.Clock.Advance(TimeSpan.FromSeconds(1));
        var done = await _runs.DriveUntilEndedAsync(run);

        Assert.Equal(RunStatuses.Succeeded, done.Status);
        Assert.Equal(3, endpoint.Hits("ready"));
        Assert.Contains("\"status\":202", done.Steps[0].OutputsJson, StringComparison.Ordinal);
        Assert.Contains("ready #3", done.Steps[0].OutputsJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AChildRunRunsToItsEndAndItsOutputsReachTheParent()
    {
        await _runs.RegisterAsync("""
            name: child
            inputs:
              word: { type: string, required: true }
            steps:
              - id: nap
                uses: sleep
                with: { duration: 10m }
            outputs:
              echoed: "child says ${{ inputs.word }}"
            """);
        var parent = await _runs.StartAsync("""
            name: parent
            steps:
              - id: sub
                uses: workflow
                with: { workflow: child, inputs: { word: hello } }
            outputs:
              heard: ${{ steps.sub.outputs.echoed }}
            """);
        await RunDriver.UntilStepAsync(parent, "sub", StepStatuses.Running);

        var done = await Eventually.DriveAsync(fixture.Clock, TimeSpan.FromMinutes(1), async () => (await parent.GetAsync())!, v => RunStatuses.IsTerminal(v.Status), "the parent to end");

        Assert.Equal(RunStatuses.Succeeded, done.Status);
        Assert.Equal("""{"heard":"child says hello"}""", done.OutputsJson);
        var childId = System.Text.Json.JsonDocument.Parse(done.Steps[0].OutputsJson).RootElement.GetProperty("run_id").GetString()!;
        var child = (await _runs.Run(childId).GetAsync())!;
        Assert.Equal(RunStatuses.Succeeded, child.Status);
        Assert.True(child.EndedAt >= child.CreatedAt + TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task ChildRunsNestOnlyAsDeepAsTheTenantsMaxRunDepth()
    {
        await _runs.CreateTenantAsync(new TenantQuotas(MaxRunDepth: 2));
        var root = await _runs.StartAsync("""
            name: recurse
            steps:
              - id: again
                uses: workflow
                with: { workflow: recurse }
            """);

        var done = await RunDriver.UntilEndedAsync(root);

        // Depth 0 starts 1, 1 starts 2; the start at depth 3 is refused, and each parent fails with its child.
        Assert.Equal(RunStatuses.Failed, done.Status);
        Assert.Contains("allows runs to nest 2 deep (its max_run_depth)", done.Error, StringComparison.Ordinal);
        var depth1 = System.Text.RegularExpressions.Regex.Matches(done.Error!, "child run (run-[0-9a-f]{20}) failed").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, depth1.Count);
        foreach (var id in depth1)
        {
            Assert.Equal(RunStatuses.Failed, (await _runs.Run(id).GetAsync())!.Status);
        }
    }

    [Fact]
    public async Task AStartBeyondTheTenantsLiveRunQuotaIsRefusedUntilARunEnds()
    {
        await _runs.CreateTenantAsync(new TenantQuotas(MaxConcurrentRuns: 1));
        const string Yaml = """
            name: gate
            steps:
              - id: gate
                uses: wait_for_signal
                with: { name: open }
            """;
        var first = await _runs.StartAsync(Yaml);
        await RunDriver.UntilStepAsync(first, "gate", StepStatuses.Waiting);

        var refused = await Assert.ThrowsAsync<QuotaExceededException>(() => _runs.Run(RunIds.New()).StartAsync(new RunStartRequest("gate", null, "{}")));
        Assert.Equal(QuotaExceededException.MaxConcurrentRuns, refused.Quota);
        Assert.Equal(1, refused.Limit);

        await first.SignalAsync("open", "true");
        await RunDriver.UntilEndedAsync(first);
        var second = await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    return await _runs.Run(RunIds.New()).StartAsync(new RunStartRequest("gate", null, "{}"));
                }
                catch (QuotaExceededException)
                {
                    return null;
                }
            },
            v => v is not null,
            "the ended run's place to be free");
        Assert.Equal(RunStatuses.Running, second!.Status);
    }

    [Fact]
    public async Task ARunWaitingForASignalIsListedAsWaitingAndAsSucceededOnceSignalled()
    {
        var run = await _runs.StartAsync("""
            name: listed-wait
            steps:
              - id: gate
                uses: wait_for_signal
                with: { name: open }
            """);
        var id = (await RunDriver.UntilStepAsync(run, "gate", StepStatuses.Waiting)).RunId;
        var queries = _runs.Client.GetGrain<IRunQueryGrain>(0);

        // The list says what a read says, and its status filter finds the run.
        Assert.Equal(RunStatuses.Waiting, (await run.GetAsync())!.Status);
        var waiting = await Eventually.UntilAsync(
            () => queries.ListAsync(_runs.Tenant, 10, null, RunStatuses.Waiting, "listed-wait"),
            page => page.Items.Count > 0,
            "the run to be listed as waiting");
        Assert.Equal((id, RunStatuses.Waiting), (Assert.Single(waiting.Items).RunId, waiting.Items[0].Status));

        await run.SignalAsync("open", "true");
        await RunDriver.UntilEndedAsync(run);
        var ended = await Eventually.UntilAsync(
            () => queries.ListAsync(_runs.Tenant, 10, null, null, "listed-wait"),
            page => page.Items.Count == 1 && page.Items[0].Status != RunStatuses.Waiting,
            "the list to follow the signalled run");
        Assert.Equal(RunStatuses.Succeeded, ended.Items[0].Status);
        Assert.Empty((await queries.ListAsync(_runs.Tenant, 10, null, RunStatuses.Waiting, "listed-wait")).Items);
    }

    [Fact]
    public async Task SignalsNoStepWaitsForAreKeptUpToACapOfNewNamesAndTheWaitedOneStillArrives()
    {
        var run = await _runs.StartAsync("""
            name: signal-cap
            steps:
              - id: gate
                uses: wait_for_signal
                with: { name: open }
              - id: later
                uses: wait_for_signal
                with: { name: s0 }
            """);
        await RunDriver.UntilStepAsync(run, "gate", StepStatuses.Waiting);

        for (var i = 0; i < WorkflowRunGrain.MaxPendingSignals; i++)
        {
            await run.SignalAsync($"s{i}", $$"""{"n":{{i}}}""");
        }

        var refused = await Assert.ThrowsAsync<RunConflictException>(() => run.SignalAsync("one-too-many", "1"));
        Assert.Contains($"already holds {WorkflowRunGrain.MaxPendingSignals} signals", refused.Message, StringComparison.Ordinal);

        // A kept name is replaced, not added; the signal a step waits for is always taken.
        await run.SignalAsync("s0", """{"n":"again"}""");
        await run.SignalAsync("open", "true");
        var ended = await RunDriver.UntilEndedAsync(run);

        Assert.Equal(RunStatuses.Succeeded, ended.Status);
        Assert.Contains(""""payload":{"n":"again"}"""", ended.Steps.Single(s => s.Id == "later").OutputsJson, StringComparison.Ordinal);
    }
}
